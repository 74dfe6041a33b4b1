/* autoaccel/runtime/_fastpath.c: the trampoline's `enter` in C (chosen by fastpath.py).
 *
 * Why: a promoted call through the Python `Trampoline.enter` and `Variant.run` cost ~940 ns
 * above Numba's dispatcher (tuple of types, dict lookups, the frozen-globals check, NumPy's
 * error state, the result adapter, all as Python bytecode). This file does the same work for
 * the common case in C and hands every other case to the Python methods, unchanged:
 *
 *   - `Dispatch.enter` (vectorcall) keys the call by the exact type of each argument and, for
 *     exact ndarrays, dtype object, ndim, contiguity and writability: that is all Numba's
 *     `typeof` reads of such values, so one key always has one Numba signature. A key is
 *     looked up in a small per-trampoline cache of routes; a miss asks Python
 *     (`Variant.native_route`) once, and remembers the answer until `_fast` is rebound
 *     (every promotion, eviction, compile and invalidation rebinds it).
 *   - A `Route` calls the validated overload's compiled entry point directly (what Numba's
 *     dispatcher calls after matching types), after the guards `Variant.run` applies: frozen
 *     globals, NumPy's error state; then the result adapter and the ambiguous-type check.
 *   - Counting before promotion is done here while nothing but a count can happen
 *     (see `count_quietly`); the rest is `Trampoline._enter_slow`.
 *
 * Frozen globals are watched, not re-read: with CPython 3.12+ a dict watcher bumps an epoch on
 * any write to a watched globals dict; on 3.10/3.11 each dict's `ma_version_tag` (PEP 509)
 * changes on every write. Only then are the frozen names looked up again, and a changed one
 * makes the call STALE, as `snapshot_guard` would.
 *
 * Everything runs with the GIL held, and no Python code runs between a lookup and its use
 * except where references are held explicitly (calls into Python may rebind `_fast`).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#ifdef Py_GIL_DISABLED
#error "the C fast path assumes the GIL; the free-threaded build uses the Python path"
#endif

#define MAX_ARGS 8   /* calls with more arguments are keyed by Python only */
#define CACHE_SIZE 4 /* routes one trampoline remembers (argument patterns seen lately) */

/* NumPy's array object, as numpy/ndarraytypes.h lays it out (PyArrayObject_fields): the
 * same in NumPy 1.x and 2.x. Read directly so that building needs no NumPy headers. */
typedef struct {
    PyObject_HEAD
    char *data;
    int nd;
    Py_ssize_t *dimensions;
    Py_ssize_t *strides;
    PyObject *base;
    PyObject *descr;
    int flags;
} ArrayFields;
#define NPY_C_CONTIGUOUS 0x0001
#define NPY_F_CONTIGUOUS 0x0002
#define NPY_WRITEABLE 0x0400

/* What configure() and configure_numpy() hand over from Python (strong references). */
static PyTypeObject *ndarray_type;
static PyObject *scalar_types;      /* tuple: NumPy scalar types whose Numba type is fixed */
static PyObject *scalar_kinds;      /* tuple: their compare.number_kind, in the same order */
static PyObject *MISS, *NO_MATCH, *STALE, *ABSENT, *DEEP;
static PyObject *recursion_budget;  /* autoaccel.errors.RecursionBudget */
static PyTypeObject *signal_type;
static PyObject *errstate_var;      /* NumPy 2's ContextVar of the error state, or NULL */
static PyObject *errors_ignored;    /* variant.numpy_errors_ignored */
static PyObject *small_array_type;  /* keys.small_array_type(min_size) */
static PyTypeObject *float64_type;  /* numpy.float64: the adapter most results need */

static PyObject *last_errstate;     /* the error state last seen, and whether it was quiet */
static int last_quiet;
static Py_ssize_t timed_calls;        /* autoaccel/policy/cost.py's TIMED_CALLS */
static int values_wanted;           /* [specialization] values, for count_quietly */

static PyObject *s_enter_slow, *s_signalled, *s_run, *s_native_route, *s_routers,
    *s_code, *s_converting_route;

#if PY_VERSION_HEX >= 0x030C0000
static int watcher_id = -1;
static unsigned long long dict_epoch = 1; /* bumped by every write to a watched dict */

static int
on_dict_event(PyDict_WatchEvent event, PyObject *dict, PyObject *key, PyObject *value)
{
    dict_epoch++;
    return 0;
}

/* A number that changes whenever `dict` may have changed; 0: unknown, look up every time. */
static inline unsigned long long
dict_version(PyObject *dict)
{
    return watcher_id >= 0 ? dict_epoch : 0;
}
#else
static inline unsigned long long
dict_version(PyObject *dict)
{
    return ((PyDictObject *)dict)->ma_version_tag;
}
#endif

/* ---- Counter: itertools.count() whose value C can advance ------------------------- */

typedef struct {
    PyObject_HEAD
    unsigned long long value;
} Counter;

static Counter *use_clock; /* CLOCK: ticks ordering the variants' latest uses */

static PyObject *
Counter_next(Counter *self)
{
    return PyLong_FromUnsignedLongLong(self->value++);
}

static PyObject *
Counter_repr(Counter *self)
{
    return PyUnicode_FromFormat("count(%llu)", self->value); /* as itertools.count writes */
}

static PyTypeObject CounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoaccel.runtime._fastpath.Counter",
    .tp_doc = "Counter(): 0, 1, 2... as itertools.count(), advanced by C too.",
    .tp_basicsize = sizeof(Counter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Counter_next,
    .tp_repr = (reprfunc)Counter_repr,
};

/* ---- VariantBase: the use counts the variant cache's eviction policies read --------- */

typedef struct {
    PyObject_HEAD
    unsigned long long uses, last;
} VariantBase;

static PyMemberDef VariantBase_members[] = {
    {"uses", T_ULONGLONG, offsetof(VariantBase, uses), 0, "calls served"},
    {"last", T_ULONGLONG, offsetof(VariantBase, last), 0, "CLOCK tick of the latest call"},
    {NULL},
};

static PyTypeObject VariantBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoaccel.runtime._fastpath.VariantBase",
    .tp_doc = "Use counts of a promoted variant, kept where C can count them.",
    .tp_basicsize = sizeof(VariantBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = VariantBase_members,
};

/* ---- Route: one validated overload and the guards of its calls ------------------------ */

enum { CHECK_DICT, CHECK_ATTRIBUTE, CHECK_READ_ONLY, CHECK_CODE, CHECK_RECURSION_LIMIT };

typedef struct {
    int kind;
    PyObject *owner, *name, *value; /* the snapshot entry; name/value unused for READ_ONLY */
    unsigned long long verified;    /* dict_version() when the entry last held; 0: never */
} Check;

typedef struct {
    PyObject_HEAD
    PyObject *variant;     /* a VariantBase: its use counts */
    PyObject *entry_point; /* Numba's compiled entry of exactly this signature */
    PyObject *adapters;    /* dict: raw result type -> converter or None (shared) */
    PyTypeObject *seen;    /* the raw result type last found in adapters (borrowed: the */
    PyObject *adapter;     /* dict holds both), and its converter; entries never change */
    PyObject *constants;   /* tuple: constants the code may return as they are */
    PyObject *positions;   /* tuple of ints: arguments the code may return as they are */
    PyObject *unambiguous; /* results of this type need neither check (or None) */
    Py_ssize_t max_frames; /* Python frames a recursive variant's caller may have; -1 */
    Py_ssize_t nchecks;
    Check *checks;
    /* A converting route (see "Conversion" below), else all NULL: */
    PyObject *direct;  /* dict: converted arguments' classes -> entry point (shared) */
    PyObject *numbers; /* dict: list element class -> (Native class, NumPy dtype) */
    PyObject *tuples;  /* dict: items' classes -> NativeTuple class (shared, grows) */
    PyObject *empty;   /* numpy.empty */
} Route;

static int
Route_traverse(Route *self, visitproc visit, void *arg)
{
    Py_VISIT(self->variant);
    Py_VISIT(self->entry_point);
    Py_VISIT(self->adapters);
    Py_VISIT(self->constants);
    Py_VISIT(self->positions);
    Py_VISIT(self->unambiguous);
    Py_VISIT(self->direct);
    Py_VISIT(self->numbers);
    Py_VISIT(self->tuples);
    Py_VISIT(self->empty);
    for (Py_ssize_t i = 0; i < self->nchecks; i++) {
        Py_VISIT(self->checks[i].owner);
        Py_VISIT(self->checks[i].name);
        Py_VISIT(self->checks[i].value);
    }
    return 0;
}

static int
Route_clear(Route *self)
{
    Py_CLEAR(self->variant);
    Py_CLEAR(self->entry_point);
    Py_CLEAR(self->adapters);
    Py_CLEAR(self->constants);
    Py_CLEAR(self->positions);
    Py_CLEAR(self->unambiguous);
    Py_CLEAR(self->direct);
    Py_CLEAR(self->numbers);
    Py_CLEAR(self->tuples);
    Py_CLEAR(self->empty);
    for (Py_ssize_t i = 0; i < self->nchecks; i++) {
        Py_CLEAR(self->checks[i].owner);
        Py_CLEAR(self->checks[i].name);
        Py_CLEAR(self->checks[i].value);
    }
    return 0;
}

static void
Route_dealloc(Route *self)
{
    PyObject_GC_UnTrack(self);
    Route_clear(self);
    PyMem_Free(self->checks);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Route(variant, entry_point, checks, adapters, constants, positions, unambiguous,
 * max_frames=-1, conversion=None); checks: a tuple of (kind, owner, name, value) as
 * snapshot.native_checks() writes them; constants to unambiguous as the variant's Guards has
 * them (ambiguous_constants, ambiguous_arguments, unambiguous); max_frames: the variant's, for
 * code that may recurse (backends/recursion.py), else -1; conversion: for a converting route,
 * (direct, numbers, tuples, empty) as the Route struct describes them (entry_point unused). */
static PyObject *
Route_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *variant, *entry_point, *checks, *adapters, *constants, *positions, *unambiguous;
    PyObject *conversion = Py_None, *direct = NULL, *numbers = NULL, *tuples = NULL;
    PyObject *empty = NULL;
    Py_ssize_t max_frames = -1;
    if (!PyArg_ParseTuple(args, "O!OO!O!O!O!O|nO:Route", &VariantBaseType, &variant,
                          &entry_point, &PyTuple_Type, &checks, &PyDict_Type, &adapters,
                          &PyTuple_Type, &constants, &PyTuple_Type, &positions, &unambiguous,
                          &max_frames, &conversion))
        return NULL;
    if (conversion != Py_None &&
        (!PyArg_ParseTuple(conversion, "O!O!O!O:Route conversion", &PyDict_Type, &direct,
                           &PyDict_Type, &numbers, &PyDict_Type, &tuples, &empty) ||
         max_frames >= 0)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "Route: a converting route cannot recurse");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(positions); i++) {
        PyObject *position = PyTuple_GET_ITEM(positions, i);
        if (!PyLong_CheckExact(position) || PyLong_AsSsize_t(position) < 0) {
            PyErr_SetString(PyExc_ValueError, "Route: positions must be ints >= 0");
            return NULL;
        }
    }
    Py_ssize_t n = PyTuple_GET_SIZE(checks);
    Check *parsed = PyMem_Calloc(n ? n : 1, sizeof(Check));
    if (parsed == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        Check *c = &parsed[i];
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(checks, i), "iOOO", &c->kind, &c->owner,
                              &c->name, &c->value))
            goto fail;
        if ((c->kind == CHECK_DICT && !PyDict_CheckExact(c->owner)) ||
            (c->kind == CHECK_READ_ONLY && Py_TYPE(c->owner) != ndarray_type) ||
            (c->kind == CHECK_CODE && !PyFunction_Check(c->owner)) ||
            (c->kind == CHECK_RECURSION_LIMIT && !PyLong_CheckExact(c->value)) ||
            c->kind < CHECK_DICT || c->kind > CHECK_RECURSION_LIMIT) {
            PyErr_SetString(PyExc_ValueError, "Route: malformed check");
            goto fail;
        }
#if PY_VERSION_HEX >= 0x030C0000
        if (c->kind == CHECK_DICT && watcher_id >= 0 && PyDict_Watch(watcher_id, c->owner) < 0)
            goto fail;
#endif
    }
    Route *self = (Route *)type->tp_alloc(type, 0);
    if (self == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_INCREF(parsed[i].owner);
        Py_INCREF(parsed[i].name);
        Py_INCREF(parsed[i].value);
    }
    self->checks = parsed;
    self->nchecks = n;
    self->variant = Py_NewRef(variant);
    self->entry_point = Py_NewRef(entry_point);
    self->adapters = Py_NewRef(adapters);
    self->constants = Py_NewRef(constants);
    self->positions = Py_NewRef(positions);
    self->unambiguous = Py_NewRef(unambiguous);
    self->max_frames = max_frames;
    self->direct = Py_XNewRef(direct);
    self->numbers = Py_XNewRef(numbers);
    self->tuples = Py_XNewRef(tuples);
    self->empty = Py_XNewRef(empty);
    return (PyObject *)self;
fail:
    PyMem_Free(parsed);
    return NULL;
}

/* 1: every frozen global holds; 0: one changed (STALE); -1: an error is set. */
static int
frozen_globals_hold(Route *self)
{
    for (Py_ssize_t i = 0; i < self->nchecks; i++) {
        Check *c = &self->checks[i];
        PyObject *current;
        switch (c->kind) {
        case CHECK_DICT: {
            unsigned long long version = dict_version(c->owner);
            if (version != 0 && version == c->verified)
                continue; /* no write since it last held: the common case, no lookup */
            current = PyDict_GetItemWithError(c->owner, c->name);
            if (current == NULL) {
                if (PyErr_Occurred())
                    return -1;
                current = ABSENT;
            }
            if (current != c->value)
                return 0;
            c->verified = version;
            break;
        }
        case CHECK_ATTRIBUTE:
            /* A helper's __code__: read the field instead of a getattr. */
            if (PyFunction_Check(c->owner) && c->name == s_code) {
                if (PyFunction_GET_CODE(c->owner) != c->value)
                    return 0;
                break;
            }
            current = PyObject_GetAttr(c->owner, c->name);
            if (current == NULL)
                return -1;
            Py_DECREF(current); /* only its identity is compared */
            if (current != c->value)
                return 0;
            break;
        case CHECK_CODE: /* snapshot.CodeOf: the helper runs its code as written (value),
                          * or the code with its prologue it ran when compiled (name) */
            if (PyFunction_GET_CODE(c->owner) != c->name &&
                PyFunction_GET_CODE(c->owner) != c->value)
                return 0;
            break;
        case CHECK_RECURSION_LIMIT: /* recursion.RecursionLimit: the limit is still value */
            if (PyLong_AsLong(c->value) != Py_GetRecursionLimit()) {
                if (PyErr_Occurred())
                    return -1;
                return 0;
            }
            break;
        case CHECK_READ_ONLY: /* a global array Numba froze as a constant stays read-only */
            if (((ArrayFields *)c->owner)->flags & NPY_WRITEABLE)
                return 0;
            break;
        }
    }
    return 1;
}

/* 1: NumPy's error state is one Numba matches (variant.numpy_errors_ignored); 0: not; -1. */
static int
errors_quiet(void)
{
    PyObject *state = NULL;
    if (ndarray_type == NULL)
        return 1; /* NumPy not imported (configure_numpy not called): its state is the default */
    if (errstate_var != NULL) {
        if (PyContextVar_Get(errstate_var, NULL, &state) < 0)
            return -1;
        if (state == last_errstate) {
            Py_XDECREF(state);
            return last_quiet;
        }
    }
    PyObject *answer = PyObject_CallNoArgs(errors_ignored);
    int quiet = answer == NULL ? -1 : PyObject_IsTrue(answer);
    Py_XDECREF(answer);
    if (quiet < 0 || state == NULL) {
        Py_XDECREF(state);
        return quiet;
    }
    Py_XSETREF(last_errstate, state); /* keeps the state alive: its identity is the key */
    last_quiet = quiet;
    return quiet;
}

static PyObject *
args_tuple(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *tuple = PyTuple_New(nargs);
    if (tuple == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
    return tuple;
}

static inline int
is_double(PyObject *value)
{
    return Py_TYPE(value) == &PyFloat_Type || Py_TYPE(value) == float64_type;
}

/* `value == result` where their types differ; 1, 0, or -1 with an error. A float and a
 * NumPy float64 compare as doubles, as both their __eq__ do; anything else with Python's ==. */
static int
equal_across_types(PyObject *value, PyObject *result)
{
    if (Py_TYPE(value) == Py_TYPE(result))
        return 0;
    if (is_double(value) && is_double(result))
        return PyFloat_AS_DOUBLE(value) == PyFloat_AS_DOUBLE(result);
    return PyObject_RichCompareBool(value, result, Py_EQ);
}

/* Whether `type` is one of the NumPy scalar types whose Numba type the class fixes. */
static int
is_numpy_scalar_type(PyTypeObject *type)
{
    for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(scalar_types); t++)
        if ((PyObject *)type == PyTuple_GET_ITEM(scalar_types, t))
            return 1;
    return 0;
}

/* compare.number_kind: 0 bool, 1 integer, 2 float, 3 complex (as Numba widens them), -1 for
 * anything else (only numbers may be ambiguous). */
static int
number_kind(PyObject *value)
{
    if (PyBool_Check(value))
        return 0;
    if (PyLong_Check(value))
        return 1;
    if (PyFloat_Check(value)) /* np.float64 too */
        return 2;
    if (PyComplex_Check(value)) /* np.complex128 too */
        return 3;
    for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(scalar_types); t++)
        if ((PyObject *)Py_TYPE(value) == PyTuple_GET_ITEM(scalar_types, t))
            return (int)PyLong_AsLong(PyTuple_GET_ITEM(scalar_kinds, t));
    return -1;
}

/* Whether `value` (a constant or argument the function may return as is) equals `result`, a
 * number of kind `kind`, with another type; a value of a wider kind cannot be it (see
 * compare.ambiguous_result). 1, 0 or -1. */
static int
may_be(PyObject *value, PyObject *result, int kind)
{
    int other = number_kind(value);
    if (other < 0 || other > kind)
        return 0;
    return equal_across_types(value, result);
}

/* compare.ambiguous_result: whether CPython could return this value, or an item of this tuple,
 * with another type (a constant or argument returned as is, equal to it, of another type).
 * 1, 0 or -1. */
static int
is_ambiguous(Route *self, PyObject *result, PyObject *const *args, Py_ssize_t nargs)
{
    if ((PyObject *)Py_TYPE(result) == self->unambiguous)
        return 0;
    if (PyTuple_CheckExact(result)) {
        if (Py_EnterRecursiveCall(" checking a tuple result"))
            return -1;
        int found = 0;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(result) && !found; i++)
            found = is_ambiguous(self, PyTuple_GET_ITEM(result, i), args, nargs);
        Py_LeaveRecursiveCall();
        return found;
    }
    int kind = number_kind(result);
    if (kind < 0)
        return 0; /* constants are numbers; an array's == gives no bool */
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(self->constants); i++) {
        int equal = may_be(PyTuple_GET_ITEM(self->constants, i), result, kind);
        if (equal != 0)
            return equal;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(self->positions); i++) {
        Py_ssize_t position = PyLong_AsSsize_t(PyTuple_GET_ITEM(self->positions, i));
        int equal = position < nargs ? may_be(args[position], result, kind) : 0;
        if (equal != 0)
            return equal;
    }
    return 0;
}

/* As autoaccel.backends.interrupts.raise_hidden: with an Exception set, 1 with the
 * KeyboardInterrupt it hides (in its causes or contexts: Numba's boxing of a tuple result
 * turns a Ctrl-C into a SystemError caused by it) set instead, so that the user's Ctrl-C
 * ends the program as it would have; else 0 with the error cleared. */
static int
raise_hidden_interrupt(void)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    PyObject *cause = value;
    for (int depth = 0; cause != NULL && depth < 64; depth++) {
        if (PyErr_GivenExceptionMatches(cause, PyExc_KeyboardInterrupt)) {
            PyErr_SetObject((PyObject *)Py_TYPE(cause), cause);
            break;
        }
        PyObject *next = PyException_GetCause(cause);
        if (next == NULL)
            next = PyException_GetContext(cause);
        Py_XDECREF(next); /* borrowed use: the chain is kept alive by value */
        cause = next;
    }
    int found = cause != NULL && PyErr_Occurred() != NULL;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    return found;
}

/* The calling thread's recursion depth as CPython counts it against its limit: at least
 * its Python frames (3.10 and 3.11 count some C calls too). O(1), where walking the frames
 * as sys._getframe(n) does costs n steps. */
static inline Py_ssize_t
recursion_depth(void)
{
    PyThreadState *tstate = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030C0000
    return tstate->py_recursion_limit - tstate->py_recursion_remaining;
#elif PY_VERSION_HEX >= 0x030B0000
    return tstate->recursion_limit - tstate->recursion_remaining;
#else
    return tstate->recursion_depth;
#endif
}


/* ---- Conversion: a converting route's lists, as boundary/convert.py's walk makes them ----
 *
 * Why: a call carrying a list of numbers (spectral_norm's `(i, u)`) spent ~9 us of its
 * ~11 us in the Python walk that wraps each list for the unboxer (boundary/convert.py), the
 * compiled code itself under 1 us. Here the common case is done in C with the same
 * objects: a list whose first element is exactly a float, int or bool becomes
 * `Native(numpy.empty(len + 1, dtype), list)` (the unboxer fills the storage and checks
 * every element's class, handing the call back on a mismatch, as for the walk's); a tuple
 * holding one becomes its NativeTuple class; each list is converted once (aliasing); values
 * the walk passes as they are stay. Anything else (an empty list, a list of lists or of
 * tuples, a buffer, an object, a tuple class not made yet) is declined: the call goes to
 * Variant.run, whose walk converts it. Only routes of variants that write no list convert
 * here, so nothing is written back. */

#define MAX_LISTS 16 /* lists one call may carry to be converted here */
#define MAX_DEPTH 8  /* tuples within tuples converted here (bounds the C recursion) */

typedef struct {
    PyObject *numbers, *tuples, *empty; /* as in Route (borrowed) */
    int depth;
    int nlists;
    PyObject *sources[MAX_LISTS]; /* borrowed: the call's arguments hold them */
    PyObject *natives[MAX_LISTS]; /* borrowed: the converted values being built hold them */
} Conversion;

static PyObject *convert_value(Conversion *c, PyObject *value);

/* A list of numbers as its Native; NULL with an error, or NULL without one: declined. */
static PyObject *
convert_list(Conversion *c, PyObject *list)
{
    for (int i = 0; i < c->nlists; i++)
        if (c->sources[i] == list)
            return Py_NewRef(c->natives[i]);
    if (PyList_GET_SIZE(list) == 0 || c->nlists == MAX_LISTS)
        return NULL;
    PyObject *first = (PyObject *)Py_TYPE(PyList_GET_ITEM(list, 0));
    PyObject *entry = PyDict_GetItemWithError(c->numbers, first);
    if (entry == NULL || !PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2)
        return NULL;
    Py_INCREF(entry); /* borrowed from a dict: held across the calls below */
    PyObject *size = PyLong_FromSsize_t(PyList_GET_SIZE(list) + 1); /* + the written mark */
    PyObject *storage = NULL, *native = NULL;
    if (size != NULL) {
        PyObject *shape_dtype[2] = {size, PyTuple_GET_ITEM(entry, 1)};
        storage = PyObject_Vectorcall(c->empty, shape_dtype, 2, NULL);
    }
    if (storage != NULL) {
        PyObject *storage_source[2] = {storage, list};
        native = PyObject_Vectorcall(PyTuple_GET_ITEM(entry, 0), storage_source, 2, NULL);
    }
    Py_XDECREF(size);
    Py_XDECREF(storage);
    Py_DECREF(entry);
    if (native != NULL) {
        c->sources[c->nlists] = list;
        c->natives[c->nlists++] = native;
    }
    return native;
}

/* The items of `tuple` as compiled code receives them (a new tuple), and in *converted
 * whether any differs; NULL with an error, or NULL without one: declined. */
static PyObject *
convert_items(Conversion *c, PyObject *tuple, int *converted)
{
    Py_ssize_t n = PyTuple_GET_SIZE(tuple);
    PyObject *items = PyTuple_New(n);
    if (items == NULL)
        return NULL;
    *converted = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = convert_value(c, PyTuple_GET_ITEM(tuple, i));
        if (item == NULL) {
            Py_DECREF(items);
            return NULL;
        }
        *converted |= item != PyTuple_GET_ITEM(tuple, i);
        PyTuple_SET_ITEM(items, i, item);
    }
    return items;
}

/* The classes of the items of `tuple`, as a tuple (a dict key). */
static PyObject *
item_classes(PyObject *tuple)
{
    Py_ssize_t n = PyTuple_GET_SIZE(tuple);
    PyObject *classes = PyTuple_New(n);
    if (classes != NULL)
        for (Py_ssize_t i = 0; i < n; i++)
            PyTuple_SET_ITEM(classes, i, Py_NewRef(Py_TYPE(PyTuple_GET_ITEM(tuple, i))));
    return classes;
}

/* A tuple holding converted values as its NativeTuple class (the walk's tuple_class, for
 * classes it has made); the tuple itself if none converts. */
static PyObject *
convert_tuple(Conversion *c, PyObject *tuple)
{
    int converted;
    PyObject *items = convert_items(c, tuple, &converted);
    if (items == NULL || !converted) {
        Py_XDECREF(items);
        return items == NULL ? NULL : Py_NewRef(tuple);
    }
    PyObject *classes = item_classes(items);
    PyObject *cls = classes == NULL ? NULL : PyDict_GetItemWithError(c->tuples, classes);
    Py_XDECREF(classes);
    PyObject *result = cls == NULL ? NULL : PyObject_CallOneArg(cls, items);
    Py_DECREF(items);
    return result;
}

/* `value` as compiled code receives it (a new reference); NULL with an error, or NULL
 * without one: declined. */
static PyObject *
convert_value(Conversion *c, PyObject *value)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyFloat_Type || type == &PyLong_Type || type == &PyBool_Type ||
        type == &PyUnicode_Type || type == &PyComplex_Type || value == Py_None ||
        type == ndarray_type)
        return Py_NewRef(value);
    if (type == &PyList_Type)
        return convert_list(c, value);
    if (type == &PyTuple_Type) {
        if (c->depth == MAX_DEPTH)
            return NULL;
        c->depth++;
        PyObject *result = convert_tuple(c, value);
        c->depth--;
        return result;
    }
    return is_numpy_scalar_type(type) ? Py_NewRef(value) : NULL;
}

/* The converted arguments (a tuple) and, in *entry, the entry point that takes exactly their
 * classes (a new reference); NULL with an error, or NULL without one: declined (also where
 * no promoted signature has those classes). */
static PyObject *
convert_arguments(Route *self, PyObject *args, PyObject **entry)
{
    Conversion c = {self->numbers, self->tuples, self->empty, 0, 0};
    int converted;
    PyObject *natives = convert_items(&c, args, &converted);
    PyObject *classes = natives == NULL ? NULL : item_classes(natives);
    if (classes == NULL) {
        Py_XDECREF(natives);
        return NULL;
    }
    *entry = Py_XNewRef(PyDict_GetItemWithError(self->direct, classes));
    Py_DECREF(classes);
    if (*entry == NULL)
        Py_CLEAR(natives);
    return natives;
}

/* Variant.run for one exact signature: the result, MISS, STALE, DEEP, or NULL with an
 * error. */
static PyObject *
Route_call(Route *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *tuple = args_tuple(args, nargs);
    if (tuple == NULL)
        return NULL;
    /* Code that may recurse from a caller that may be too deep: Variant.run decides, with
     * its exact count of the frames (recursion.too_deep), and runs every guard itself. The
     * depth counts every Python frame, and run() and too_deep push two more. */
    if (self->max_frames >= 0 && recursion_depth() + 2 > self->max_frames) {
        PyObject *result = PyObject_CallMethodOneArg(self->variant, s_run, tuple);
        Py_DECREF(tuple);
        return result;
    }
    int hold = frozen_globals_hold(self);
    if (hold <= 0) {
        Py_DECREF(tuple);
        return hold < 0 ? NULL : Py_NewRef(STALE);
    }
    int quiet = errors_quiet();
    if (quiet <= 0) {
        Py_DECREF(tuple);
        return quiet < 0 ? NULL : Py_NewRef(MISS);
    }
    PyObject *entry;
    if (self->direct != NULL) {
        PyObject *natives = convert_arguments(self, tuple, &entry);
        if (natives == NULL) {
            if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_Exception)) {
                Py_DECREF(tuple);
                return NULL; /* a KeyboardInterrupt propagates */
            }
            PyErr_Clear(); /* declined, or failed: the walk of Variant.run converts them */
            PyObject *result = PyObject_CallMethodOneArg(self->variant, s_run, tuple);
            Py_DECREF(tuple);
            return result;
        }
        Py_SETREF(tuple, natives); /* from here on, the arguments are the converted ones */
    }
    else
        entry = Py_NewRef(self->entry_point);
    PyObject *result = PyObject_Call(entry, tuple, NULL);
    Py_DECREF(entry);
    if (result == NULL) {
        Py_DECREF(tuple);
        /* As Variant.run: a recursion past its compiled budget is DEEP; otherwise the
         * original runs and raises its own error, with its own traceback.
         * KeyboardInterrupt and SystemExit are not Exceptions: they propagate. */
        if (PyErr_ExceptionMatches(recursion_budget)) {
            PyErr_Clear();
            return Py_NewRef(DEEP);
        }
        if (!PyErr_ExceptionMatches(PyExc_Exception) || raise_hidden_interrupt())
            return NULL;
        return Py_NewRef(MISS);
    }
    VariantBase *variant = (VariantBase *)self->variant;
    variant->uses++;
    variant->last = use_clock->value++;
    PyObject *adapter = self->adapter;
    if (Py_TYPE(result) != self->seen) {
        adapter = PyDict_GetItemWithError(self->adapters, (PyObject *)Py_TYPE(result));
        if (adapter == NULL && PyErr_Occurred())
            goto error;
        if (adapter != NULL) { /* Variant.accepts never replaces an entry */
            self->seen = Py_TYPE(result);
            self->adapter = adapter;
        }
    }
    if (adapter == (PyObject *)float64_type && adapter != NULL && PyFloat_CheckExact(result)) {
        /* np.float64(result) as NumPy's C code makes its scalars (PyArrayScalar_New, then
         * the value): a float subclass laid out as a float. 15 ns instead of 140. */
        PyObject *scalar = float64_type->tp_alloc(float64_type, 0);
        if (scalar == NULL)
            goto error;
        ((PyFloatObject *)scalar)->ob_fval = PyFloat_AS_DOUBLE(result);
        Py_SETREF(result, scalar);
    }
    else if (adapter != NULL && adapter != Py_None) {
        Py_SETREF(result, PyObject_CallOneArg(adapter, result));
        if (result == NULL)
            goto error;
    }
    int unsure = is_ambiguous(self, result, &PyTuple_GET_ITEM(tuple, 0), PyTuple_GET_SIZE(tuple));
    if (unsure < 0)
        goto error;
    if (unsure)
        Py_SETREF(result, Py_NewRef(MISS));
    Py_DECREF(tuple);
    return result;
error:
    Py_XDECREF(result);
    Py_DECREF(tuple);
    return NULL;
}

static PyTypeObject RouteType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoaccel.runtime._fastpath.Route",
    .tp_doc = "Route(variant, entry_point, checks, adapters, constants, positions, "
              "unambiguous, max_frames=-1): a validated overload served from C, and its "
              "guards.",
    .tp_basicsize = sizeof(Route),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Route_new,
    .tp_dealloc = (destructor)Route_dealloc,
    .tp_traverse = (traverseproc)Route_traverse,
    .tp_clear = (inquiry)Route_clear,
};

/* ---- Dispatch: the base of Trampoline ---------------------------------------------- */

typedef struct {
    Py_ssize_t nargs;
    PyTypeObject *types[MAX_ARGS]; /* exact types (the small-array type stands for none) */
    PyObject *descrs[MAX_ARGS];    /* an ndarray's dtype object, else NULL */
    long shapes[MAX_ARGS];         /* an ndarray's ndim, contiguity, writability, smallness */
} Key;

/* What one key's calls get: a Route, or the object whose run(args) serves them (from
 * `_fast`); or, while the signature is only counted, its count. Counts are kept here and
 * added to `_counts` before Python reads it or runs any of the trampoline's code
 * (flush_counts), so Python always sees every call. */
typedef struct {
    int used;
    Key key;
    PyObject *target;   /* NULL: the calls are counted */
    PyObject *types;    /* counted: the type key */
    Py_ssize_t counted; /* counted: _counts[types] plus pending; -1: read _counts again */
    Py_ssize_t pending; /* counted: calls not yet added to _counts */
    Py_ssize_t limit;   /* counted: counted quietly while the count stays below it */
} CacheEntry;

typedef struct {
    PyObject_HEAD
    /* The trampoline's own attributes (trampoline.py assigns them as usual). */
    PyObject *fast, *counts, *hot, *specialize, *specializer, *routers;
    PyObject *quiet; /* quiet_until: argument types -> the count Python waits for */
    Py_ssize_t min_calls, min_size; /* min_size -1: arrays of any size count as ndarray */
    PyObject *small;                /* keys.small_array_type(min_size), or NULL */
    PyObject *calls;                /* a Counter of the calls that reached enter */
    CacheEntry cache[CACHE_SIZE];
    int next_slot;
} Dispatch;

static void
entry_release(CacheEntry *e)
{
    for (Py_ssize_t j = 0; j < e->key.nargs; j++) {
        Py_CLEAR(e->key.types[j]);
        Py_CLEAR(e->key.descrs[j]);
    }
    Py_CLEAR(e->target);
    Py_CLEAR(e->types);
    e->used = 0;
    e->pending = 0;
}

static void
cache_clear(Dispatch *self)
{
    for (int i = 0; i < CACHE_SIZE; i++)
        entry_release(&self->cache[i]);
}

/* counts[types] += n; 0, or -1 with an error set. */
static int
add_count(PyObject *counts, PyObject *types, Py_ssize_t n)
{
    PyObject *old = PyDict_GetItemWithError(counts, types);
    if (old == NULL && PyErr_Occurred())
        return -1;
    Py_ssize_t value = old == NULL ? 0 : PyLong_AsSsize_t(old);
    if (value == -1 && PyErr_Occurred())
        return -1;
    PyObject *sum = PyLong_FromSsize_t(value + n);
    if (sum == NULL)
        return -1;
    int failed = PyDict_SetItem(counts, types, sum);
    Py_DECREF(sum);
    return failed ? -1 : 0;
}

/* Add the counts kept in the cache to `_counts`; Python may change `_counts` from now on,
 * so each entry reads it again before counting more. 0, or -1 with an error set. */
static int
flush_counts(Dispatch *self)
{
    for (int i = 0; i < CACHE_SIZE; i++) {
        CacheEntry *e = &self->cache[i];
        if (!e->used || e->target != NULL)
            continue;
        e->counted = -1;
        Py_ssize_t pending = e->pending;
        e->pending = 0;
        if (pending > 0 && self->counts != NULL && add_count(self->counts, e->types, pending) < 0)
            return -1;
    }
    return 0;
}

static int
Dispatch_traverse(Dispatch *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fast);
    Py_VISIT(self->counts);
    Py_VISIT(self->hot);
    Py_VISIT(self->specialize);
    Py_VISIT(self->specializer);
    Py_VISIT(self->routers);
    Py_VISIT(self->quiet);
    Py_VISIT(self->small);
    Py_VISIT(self->calls);
    for (int i = 0; i < CACHE_SIZE; i++) {
        Py_VISIT(self->cache[i].target);
        Py_VISIT(self->cache[i].types);
        for (Py_ssize_t j = 0; j < self->cache[i].key.nargs; j++) {
            Py_VISIT(self->cache[i].key.types[j]);
            Py_VISIT(self->cache[i].key.descrs[j]);
        }
    }
    return 0; /* a subclass's own traverse visits its heap type */
}

static int
Dispatch_clear(Dispatch *self)
{
    Py_CLEAR(self->fast);
    Py_CLEAR(self->counts);
    Py_CLEAR(self->hot);
    Py_CLEAR(self->specialize);
    Py_CLEAR(self->specializer);
    Py_CLEAR(self->routers);
    Py_CLEAR(self->quiet);
    Py_CLEAR(self->small);
    Py_CLEAR(self->calls);
    cache_clear(self);
    return 0;
}

static void
Dispatch_dealloc(Dispatch *self)
{
    /* A Python subclass's instance (Trampoline) is released by subtype_dealloc, which
     * drops the reference to its heap type after this returns. */
    PyObject_GC_UnTrack(self);
    Dispatch_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *empty_tuple;

static PyObject *
Dispatch_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* Through object.__new__, which gives a Python subclass's instance its inline attribute
     * values (CPython 3.11+): without them `trampoline.armed`, which every call of a
     * disarmed function reads, took 50 ns instead of 10. */
    Dispatch *self = (Dispatch *)PyBaseObject_Type.tp_new(type, empty_tuple, NULL);
    if (self != NULL) {
        self->min_calls = 1;
        self->min_size = -1;
    }
    return (PyObject *)self;
}

/* The key of a call: 1 when it fixes every argument's Numba type; 2 (a loose key) when
 * besides such arguments it holds exact lists or tuples, whose Numba types their items
 * decide: only a converting route, which checks the classes of the converted arguments on
 * every call, or the variant that Python's `_fast` gives for the type key (the same for every
 * call of the key) may serve it; 0 when some argument's Numba type is not fixed by what the
 * key holds (an int beyond int64, a str, an ndarray subclass...): Python routes those. */
static int
make_key(Dispatch *self, PyObject *const *args, Py_ssize_t nargs, Key *key)
{
    if (nargs > MAX_ARGS)
        return 0;
    int keyed = 1;
    key->nargs = nargs;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyObject *arg = args[i];
        PyTypeObject *type = Py_TYPE(arg);
        key->types[i] = type;
        key->descrs[i] = NULL;
        key->shapes[i] = 0;
        if (type == ndarray_type) {
            ArrayFields *array = (ArrayFields *)arg;
            key->descrs[i] = array->descr;
            long shape = (long)array->nd << 8;
            shape |= array->flags & (NPY_C_CONTIGUOUS | NPY_F_CONTIGUOUS);
            shape |= array->flags & NPY_WRITEABLE ? 4 : 0;
            if (self->min_size >= 0) {
                Py_ssize_t size = 1;
                for (int d = 0; d < array->nd; d++)
                    size *= array->dimensions[d];
                if (size < self->min_size) {
                    shape |= 8;
                    key->types[i] = (PyTypeObject *)self->small;
                }
            }
            key->shapes[i] = shape;
        }
        else if (type == &PyLong_Type) {
            /* Numba types an int by its value: int64 only when it fits in 63 bits and a
             * sign (numba.typeof(-2**63) raises; 2**63 is uint64). */
            int overflow;
            long long value = PyLong_AsLongLongAndOverflow(arg, &overflow);
            if (overflow || value == LLONG_MIN)
                return 0;
        }
        else if (type == &PyList_Type || type == &PyTuple_Type)
            keyed = 2;
        else if (type != &PyFloat_Type && type != &PyBool_Type && type != &PyComplex_Type &&
                 !is_numpy_scalar_type(type))
            return 0;
    }
    return keyed;
}

static CacheEntry *
cache_find(Dispatch *self, const Key *key)
{
    for (int i = 0; i < CACHE_SIZE; i++) {
        CacheEntry *e = &self->cache[i];
        if (!e->used || e->key.nargs != key->nargs)
            continue;
        Py_ssize_t j = 0;
        while (j < key->nargs && e->key.types[j] == key->types[j] &&
               e->key.descrs[j] == key->descrs[j] && e->key.shapes[j] == key->shapes[j])
            j++;
        if (j == key->nargs)
            return e;
    }
    return NULL;
}

/* Remember `target` (or, with target NULL, the count of `types`) for `key`, in place of the
 * oldest entry. 0, or -1 with an error set (the entry replaced had counts to add). */
static int
cache_store(Dispatch *self, const Key *key, PyObject *target, PyObject *types,
            Py_ssize_t counted, Py_ssize_t limit)
{
    CacheEntry *e = &self->cache[self->next_slot];
    if (e->used && e->target == NULL && e->pending > 0 &&
        add_count(self->counts, e->types, e->pending) < 0)
        return -1;
    entry_release(e);
    self->next_slot = (self->next_slot + 1) % CACHE_SIZE;
    e->key = *key;
    for (Py_ssize_t j = 0; j < key->nargs; j++) {
        Py_INCREF(key->types[j]); /* held, so a freed type or dtype's address cannot match */
        Py_XINCREF(key->descrs[j]);
    }
    e->target = Py_XNewRef(target);
    e->types = target == NULL ? Py_NewRef(types) : NULL;
    e->counted = counted;
    e->limit = limit;
    e->used = 1;
    return 0;
}

/* The type key, as keys.type_key_function builds it. */
static PyObject *
type_key(Dispatch *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *types = PyTuple_New(nargs);
    if (types == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyObject *type = (PyObject *)Py_TYPE(args[i]);
        if (type == (PyObject *)ndarray_type && self->small != NULL) {
            ArrayFields *array = (ArrayFields *)args[i];
            Py_ssize_t size = 1;
            for (int d = 0; d < array->nd; d++)
                size *= array->dimensions[d];
            if (size < self->min_size)
                type = self->small;
        }
        PyTuple_SET_ITEM(types, i, Py_NewRef(type));
    }
    return types;
}

/* The count of `types` from which Python sees every call: the last timed_calls calls
 * before min_calls are timed there (autoaccel/runtime/admission.py, Admission.cost_gate),
 * unless Python said it waits for a later count (quiet_until: until the calls have taken
 * the Python time a compile needs). -1 with an error set (PyErr_Occurred tells: a limit
 * may be negative, where min_calls is below timed_calls). */
static Py_ssize_t
quiet_limit(Dispatch *self, PyObject *types)
{
    Py_ssize_t limit = self->min_calls - timed_calls;
    if (self->quiet == NULL)
        return limit;
    PyObject *until = PyDict_GetItemWithError(self->quiet, types);
    if (until == NULL)
        return PyErr_Occurred() ? -1 : limit;
    Py_ssize_t n = PyLong_AsSsize_t(until);
    if (n == -1 && PyErr_Occurred())
        return -1;
    return n > limit ? n : limit;
}

/* 1 when counting is all the Python path does with a call that is not hot and stays below
 * min_calls: no value router, no values to observe (Specializer.observe); 0; -1. */
static int
counting_only(Dispatch *self)
{
    if (self->routers != NULL && PyDict_GET_SIZE(self->routers) > 0)
        return 0;
    if (self->specialize == Py_False)
        return 1;
    int wanted = self->specialize == NULL || self->specialize == Py_None
                     ? values_wanted
                     : PyObject_IsTrue(self->specialize);
    return wanted < 0 ? -1 : !wanted;
}

/* The count of `types` after this call when counting it is all the Python path would do
 * (counted here); 0 when Python decides; -1 with an error set. The first call of a
 * signature always goes to Python: declared signatures, saved decisions and the
 * configuration's eager compiles are looked at then. Types become hot only in Python. */
static Py_ssize_t
count_quietly(Dispatch *self, PyObject *types, Py_ssize_t *limit)
{
    if (self->counts == NULL || self->hot == NULL)
        return 0;
    if (flush_counts(self) < 0)
        return -1;
    int only = counting_only(self);
    if (only <= 0)
        return only;
    int hot = PySet_Contains(self->hot, types);
    if (hot != 0)
        return hot < 0 ? -1 : 0;
    PyObject *count = PyDict_GetItemWithError(self->counts, types);
    if (count == NULL)
        return PyErr_Occurred() ? -1 : 0;
    Py_ssize_t n = PyLong_AsSsize_t(count);
    if (n == -1 && PyErr_Occurred())
        return -1;
    *limit = quiet_limit(self, types);
    if (*limit == -1 && PyErr_Occurred())
        return -1;
    if (n < 1 || n + 1 >= *limit)
        return 0;
    return add_count(self->counts, types, 1) < 0 ? -1 : n + 1;
}

/* _enter_slow(types, args), after counting in C where that is all it would do; the count
 * is then kept in the cache under `key`, if given. */
static PyObject *
enter_slow(Dispatch *self, PyObject *types, PyObject *const *args, Py_ssize_t nargs,
           const Key *key)
{
    Py_ssize_t limit = 0;
    Py_ssize_t count = count_quietly(self, types, &limit);
    if (count < 0)
        return NULL;
    if (count > 0) {
        /* Looked up again: an allocation above may have run a finalizer that called here. */
        CacheEntry *entry = key != NULL ? cache_find(self, key) : NULL;
        if (entry != NULL && entry->target == NULL) {
            entry->counted = count;
            entry->limit = limit;
        }
        else if (entry == NULL && key != NULL &&
                 cache_store(self, key, NULL, types, count, limit) < 0)
            return NULL;
        return Py_NewRef(MISS);
    }
    PyObject *tuple = args_tuple(args, nargs);
    if (tuple == NULL)
        return NULL;
    PyObject *result =
        PyObject_CallMethodObjArgs((PyObject *)self, s_enter_slow, types, tuple, NULL);
    Py_DECREF(tuple);
    return result;
}

/* What `target` answers for the call, with Trampoline.python_enter's handling of signals. */
static PyObject *
serve(Dispatch *self, PyObject *target, PyObject *types, PyObject *const *args,
      Py_ssize_t nargs)
{
    PyObject *result;
    if (Py_TYPE(target) == &RouteType)
        result = Route_call((Route *)target, args, nargs);
    else {
        PyObject *tuple = args_tuple(args, nargs);
        if (tuple == NULL)
            return NULL;
        result = PyObject_CallMethodOneArg(target, s_run, tuple);
        Py_DECREF(tuple);
    }
    if (result == NULL || Py_TYPE(result) != signal_type || result == MISS)
        return result;
    if (result != NO_MATCH)
        Py_SETREF(result, PyObject_CallMethodOneArg((PyObject *)self, s_signalled, result));
    else {
        Py_DECREF(result);
        PyObject *owned = types != NULL ? Py_NewRef(types) : type_key(self, args, nargs);
        if (owned == NULL)
            return NULL;
        result = enter_slow(self, owned, args, nargs, NULL);
        Py_DECREF(owned);
    }
    return result;
}

/* How to serve calls of `key` through `target` (from `_fast`): a Route when Python says the
 * call can be served in C (Variant.native_route), else `target` itself. */
static PyObject *
resolve(PyObject *target, PyObject *const *args, Py_ssize_t nargs)
{
    if (!PyObject_TypeCheck(target, &VariantBaseType))
        return Py_NewRef(target);
    PyObject *tuple = args_tuple(args, nargs);
    if (tuple == NULL)
        return NULL;
    PyObject *route = PyObject_CallMethodOneArg(target, s_native_route, tuple);
    Py_DECREF(tuple);
    if (route == Py_None)
        Py_SETREF(route, Py_NewRef(target));
    return route;
}

/* How to serve calls of a loose key through `target`: the converting route of a variant
 * that has one (ConvertingVariant.converting_route), else `target` itself. */
static PyObject *
resolve_loose(PyObject *target)
{
    if (!PyObject_TypeCheck(target, &VariantBaseType))
        return Py_NewRef(target);
    PyObject *route = PyObject_CallMethodNoArgs(target, s_converting_route);
    if (route == Py_None)
        Py_SETREF(route, Py_NewRef(target));
    return route;
}

/* METH_FASTCALL (positional arguments, as the prologue passes them): CPython 3.11+ then
 * calls it straight from the bytecode (CALL_NO_KW_METHOD_DESCRIPTOR_FAST). */
static PyObject *
Dispatch_enter(Dispatch *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (MISS == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "autoaccel.runtime._fastpath: configure() first");
        return NULL;
    }
    if (self->calls != NULL)
        ((Counter *)self->calls)->value++;
    Key key;
    int keyed = make_key(self, args, nargs, &key);
    if (keyed) {
        CacheEntry *entry = cache_find(self, &key);
        if (entry != NULL && entry->target != NULL) {
            PyObject *target = Py_NewRef(entry->target); /* Python code may clear the cache */
            PyObject *result = serve(self, target, NULL, args, nargs);
            Py_DECREF(target);
            return result;
        }
        if (entry != NULL) { /* counted: see count_quietly for why this is all it takes */
            int only = entry->counted >= 1 && entry->counted + 1 < entry->limit
                           ? counting_only(self)
                           : 0;
            if (only < 0)
                return NULL;
            if (only) {
                entry->counted++;
                entry->pending++;
                return Py_NewRef(MISS);
            }
        }
    }
    if (self->fast == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_fast is not set");
        return NULL;
    }
    PyObject *types = type_key(self, args, nargs);
    if (types == NULL)
        return NULL;
    PyObject *result = NULL;
    PyObject *target = PyDict_GetItemWithError(self->fast, types);
    if (target == NULL) {
        if (!PyErr_Occurred())
            result = enter_slow(self, types, args, nargs, keyed ? &key : NULL);
        Py_DECREF(types);
        return result;
    }
    PyObject *fast = Py_NewRef(self->fast);
    Py_INCREF(target); /* borrowed from `fast`: held while Python resolves it */
    Py_SETREF(target, keyed == 2   ? resolve_loose(target)
                      : keyed == 1 ? resolve(target, args, nargs)
                                   : Py_NewRef(target));
    if (target != NULL) {
        /* Stored unless Python changed the routes while it resolved this one. */
        if (!keyed || self->fast != fast || cache_store(self, &key, target, NULL, 0, 0) == 0)
            result = serve(self, target, types, args, nargs);
        Py_DECREF(target);
    }
    Py_DECREF(fast);
    Py_DECREF(types);
    return result;
}

/* Getters and setters of the attributes Trampoline keeps in C (same names as in Python). */
#define OBJECT_ATTRIBUTE(field, name)                                                      \
    static PyObject *get_##field(Dispatch *self, void *closure)                             \
    {                                                                                        \
        if (self->field == NULL) {                                                           \
            PyErr_SetString(PyExc_AttributeError, name);                                     \
            return NULL;                                                                     \
        }                                                                                    \
        return Py_NewRef(self->field);                                                       \
    }
OBJECT_ATTRIBUTE(fast, "_fast")

/* Python reads every call: the counts kept in the cache are added first. */
static PyObject *
get_counts(Dispatch *self, void *closure)
{
    if (self->counts == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_counts");
        return NULL;
    }
    return flush_counts(self) < 0 ? NULL : Py_NewRef(self->counts);
}
OBJECT_ATTRIBUTE(hot, "_hot")
OBJECT_ATTRIBUTE(specialize, "_specialize")
OBJECT_ATTRIBUTE(specializer, "specializer")
OBJECT_ATTRIBUTE(calls, "calls")
OBJECT_ATTRIBUTE(quiet, "quiet_until")

static int
set_typed(PyObject **field, PyObject *value, PyTypeObject *type, const char *name)
{
    if (value == NULL || !PyObject_TypeCheck(value, type)) {
        PyErr_Format(PyExc_TypeError, "%s must be a %s", name, type->tp_name);
        return -1;
    }
    Py_XSETREF(*field, Py_NewRef(value));
    return 0;
}

/* Rebinding _fast is how the promoter says the routes changed: forget the cached ones. */
static int
set_fast(Dispatch *self, PyObject *value, void *closure)
{
    if (flush_counts(self) < 0 || set_typed(&self->fast, value, &PyDict_Type, "_fast") < 0)
        return -1;
    cache_clear(self);
    return 0;
}

static int
set_counts(Dispatch *self, PyObject *value, void *closure)
{
    if (flush_counts(self) < 0 || set_typed(&self->counts, value, &PyDict_Type, "_counts") < 0)
        return -1;
    cache_clear(self); /* the counted entries counted into the dict replaced */
    return 0;
}

static int
set_hot(Dispatch *self, PyObject *value, void *closure)
{
    return set_typed(&self->hot, value, &PySet_Type, "_hot");
}

static int
set_quiet(Dispatch *self, PyObject *value, void *closure)
{
    if (flush_counts(self) < 0 || set_typed(&self->quiet, value, &PyDict_Type, "quiet_until") < 0)
        return -1;
    return 0;
}

static int
set_calls(Dispatch *self, PyObject *value, void *closure)
{
    return set_typed(&self->calls, value, &CounterType, "calls");
}

static int
set_specialize(Dispatch *self, PyObject *value, void *closure)
{
    return set_typed(&self->specialize, value, &PyBaseObject_Type, "_specialize");
}

/* The specializer's routers dict is kept too: count_quietly checks it is empty. */
static int
set_specializer(Dispatch *self, PyObject *value, void *closure)
{
    PyObject *routers = value == NULL ? NULL : PyObject_GetAttr(value, s_routers);
    if (routers == NULL || !PyDict_Check(routers)) {
        if (routers != NULL || !PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "specializer.routers must be a dict");
        Py_XDECREF(routers);
        return -1;
    }
    Py_XSETREF(self->routers, routers);
    Py_XSETREF(self->specializer, Py_NewRef(value));
    return 0;
}

static PyObject *
get_min_calls(Dispatch *self, void *closure)
{
    return PyLong_FromSsize_t(self->min_calls);
}

static int
set_min_calls(Dispatch *self, PyObject *value, void *closure)
{
    Py_ssize_t n = value == NULL ? -1 : PyLong_AsSsize_t(value);
    if (n == -1 && (value == NULL || PyErr_Occurred())) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "min_calls must be an int");
        return -1;
    }
    self->min_calls = n;
    return 0;
}

static PyObject *
get_min_size(Dispatch *self, void *closure)
{
    return self->min_size < 0 ? Py_NewRef(Py_None) : PyLong_FromSsize_t(self->min_size);
}

/* min_size: None, or arrays of fewer elements count as keys.small_array_type(min_size). */
static int
set_min_size(Dispatch *self, PyObject *value, void *closure)
{
    if (value == NULL || value == Py_None) {
        self->min_size = -1;
        Py_CLEAR(self->small);
    }
    else {
        Py_ssize_t n = PyLong_AsSsize_t(value);
        if (n == -1 && PyErr_Occurred())
            return -1;
        if (small_array_type == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "_fastpath: configure() first");
            return -1;
        }
        PyObject *small = PyObject_CallOneArg(small_array_type, value);
        if (small == NULL)
            return -1;
        if (!PyType_Check(small)) {
            Py_DECREF(small);
            PyErr_SetString(PyExc_TypeError, "small_array_type must return a type");
            return -1;
        }
        Py_XSETREF(self->small, small);
        self->min_size = n;
    }
    if (flush_counts(self) < 0)
        return -1;
    cache_clear(self);
    return 0;
}

static PyGetSetDef Dispatch_getset[] = {
    {"_fast", (getter)get_fast, (setter)set_fast, "routes by argument types", NULL},
    {"_counts", (getter)get_counts, (setter)set_counts, "calls per argument types", NULL},
    {"_hot", (getter)get_hot, (setter)set_hot, "argument types past min_calls", NULL},
    {"_specialize", (getter)get_specialize, (setter)set_specialize, "values: on/off/None",
     NULL},
    {"specializer", (getter)get_specializer, (setter)set_specializer, "value routers", NULL},
    {"min_calls", (getter)get_min_calls, (setter)set_min_calls, "calls before a trial", NULL},
    {"min_size", (getter)get_min_size, (setter)set_min_size, "small-array bound", NULL},
    {"calls", (getter)get_calls, (setter)set_calls, "a Counter of calls to enter", NULL},
    {"quiet_until", (getter)get_quiet, (setter)set_quiet, "counts Python waits for", NULL},
    {NULL},
};

static PyMethodDef Dispatch_methods[] = {
    {"enter", (PyCFunction)(void (*)(void))Dispatch_enter, METH_FASTCALL,
     "enter(*args): a result, or MISS (run the original body)."},
    {NULL},
};

static PyTypeObject DispatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoaccel.runtime._fastpath.Dispatch",
    .tp_doc = "The C part of a trampoline: enter() and the attributes it reads.",
    .tp_basicsize = sizeof(Dispatch),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = Dispatch_new,
    .tp_dealloc = (destructor)Dispatch_dealloc,
    .tp_traverse = (traverseproc)Dispatch_traverse,
    .tp_clear = (inquiry)Dispatch_clear,
    .tp_methods = Dispatch_methods,
    .tp_getset = Dispatch_getset,
};

/* ---- module functions ------------------------------------------------------------- */

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"miss", "no_match", "stale", "deep", "signal_type", "absent",
                            "errors_ignored", "small_array_type", "timed_calls",
                            "recursion_budget", NULL};
    PyObject *miss, *no_match, *stale, *deep, *signal, *absent, *ignored, *small, *budget;
    Py_ssize_t timed;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOO!OOOnO!:configure", names, &miss,
                                     &no_match, &stale, &deep, &PyType_Type, &signal, &absent,
                                     &ignored, &small, &timed, &PyType_Type, &budget))
        return NULL;
    Py_XSETREF(MISS, Py_NewRef(miss));
    Py_XSETREF(NO_MATCH, Py_NewRef(no_match));
    Py_XSETREF(STALE, Py_NewRef(stale));
    Py_XSETREF(DEEP, Py_NewRef(deep));
    Py_XSETREF(recursion_budget, Py_NewRef(budget));
    Py_XSETREF(signal_type, (PyTypeObject *)Py_NewRef(signal));
    Py_XSETREF(ABSENT, Py_NewRef(absent));
    Py_XSETREF(errors_ignored, Py_NewRef(ignored));
    Py_XSETREF(small_array_type, Py_NewRef(small));
    timed_calls = timed;
    Py_RETURN_NONE;
}

/* NumPy's objects, handed over once NumPy is imported (autoaccel/lazy_numpy.py says why not
 * before). Until then no argument can be an array or a NumPy scalar: make_key's comparisons
 * with the NULL types never match and scalar_types is empty. */
static PyObject *
configure_numpy(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"ndarray", "scalar_types", "scalar_kinds", "float64", "errstate", NULL};
    PyObject *ndarray, *scalars, *kinds, *float64, *errstate;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!O!O!O:configure_numpy", names,
                                     &PyType_Type, &ndarray, &PyTuple_Type, &scalars,
                                     &PyTuple_Type, &kinds, &PyType_Type, &float64, &errstate))
        return NULL;
    if (PyTuple_GET_SIZE(kinds) != PyTuple_GET_SIZE(scalars)) {
        PyErr_SetString(PyExc_TypeError, "configure_numpy: one kind per scalar type");
        return NULL;
    }
    for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(kinds); t++)
        if (!PyLong_CheckExact(PyTuple_GET_ITEM(kinds, t))) {
            PyErr_SetString(PyExc_TypeError, "configure_numpy: the kinds must be ints");
            return NULL;
        }
    if (!PyType_IsSubtype((PyTypeObject *)float64, &PyFloat_Type) ||
        ((PyTypeObject *)float64)->tp_basicsize != sizeof(PyFloatObject)) {
        PyErr_SetString(PyExc_TypeError, "configure_numpy: float64 must be laid out as a float");
        return NULL;
    }
    Py_XSETREF(float64_type, (PyTypeObject *)Py_NewRef(float64));
    Py_XSETREF(ndarray_type, (PyTypeObject *)Py_NewRef(ndarray));
    Py_XSETREF(scalar_types, Py_NewRef(scalars));
    Py_XSETREF(scalar_kinds, Py_NewRef(kinds));
    Py_XSETREF(errstate_var, errstate == Py_None ? NULL : Py_NewRef(errstate));
    Py_CLEAR(last_errstate);
    Py_RETURN_NONE;
}

/* convert(args, numbers, tuples, empty): the converted arguments as a converting route
 * makes them (a tuple), or None where it declines; for a trial to time what promoted calls
 * will pay. */
static PyObject *
convert(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyTuple_Check(args[0]) || !PyDict_Check(args[1]) ||
        !PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "convert(args: tuple, numbers: dict, tuples: dict, empty)");
        return NULL;
    }
    Conversion c = {args[1], args[2], args[3], 0, 0};
    int converted;
    PyObject *natives = convert_items(&c, args[0], &converted);
    if (natives == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return natives;
}

static PyObject *
set_values_wanted(PyObject *module, PyObject *flag)
{
    int wanted = PyObject_IsTrue(flag);
    if (wanted < 0)
        return NULL;
    values_wanted = wanted;
    Py_RETURN_NONE;
}

static PyObject *
globals_watch(PyObject *module, PyObject *unused)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyUnicode_FromString(watcher_id >= 0 ? "dict watcher" : "lookups");
#else
    return PyUnicode_FromString("dict version tags");
#endif
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Hand over the Python objects the fast path compares against and calls."},
    {"configure_numpy", (PyCFunction)(void (*)(void))configure_numpy,
     METH_VARARGS | METH_KEYWORDS, "Hand over NumPy's types and error state, once imported."},
    {"convert", (PyCFunction)(void (*)(void))convert, METH_FASTCALL,
     "convert(args, numbers, tuples, empty): arguments as a converting route converts them, "
     "or None where it leaves them to Python."},
    {"set_values_wanted", set_values_wanted, METH_O,
     "Whether [specialization] values is on (counting then observes values in Python)."},
    {"globals_watch", globals_watch, METH_NOARGS,
     "How writes to frozen globals are noticed: dict watcher, version tags, or lookups."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "autoaccel.runtime._fastpath",
    "The trampoline's enter in C (see autoaccel/runtime/fastpath.py).", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__fastpath(void)
{
    if (PyType_Ready(&VariantBaseType) < 0 || PyType_Ready(&CounterType) < 0 ||
        PyType_Ready(&RouteType) < 0 || PyType_Ready(&DispatchType) < 0)
        return NULL;
    empty_tuple = PyTuple_New(0);
    scalar_types = Py_XNewRef(empty_tuple); /* none known before configure_numpy */
    scalar_kinds = Py_XNewRef(empty_tuple);
    s_enter_slow = PyUnicode_InternFromString("_enter_slow");
    s_signalled = PyUnicode_InternFromString("_signalled");
    s_run = PyUnicode_InternFromString("run");
    s_native_route = PyUnicode_InternFromString("native_route");
    s_routers = PyUnicode_InternFromString("routers");
    s_code = PyUnicode_InternFromString("__code__");
    s_converting_route = PyUnicode_InternFromString("converting_route");
    if (!empty_tuple || !s_enter_slow || !s_signalled || !s_run || !s_native_route ||
        !s_routers || !s_code || !s_converting_route)
        return NULL;
#if PY_VERSION_HEX >= 0x030C0000
    watcher_id = PyDict_AddWatcher(on_dict_event);
    if (watcher_id < 0)
        PyErr_Clear(); /* all watcher slots taken: frozen globals are looked up per call */
#endif
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    use_clock = (Counter *)PyObject_CallNoArgs((PyObject *)&CounterType);
    if (use_clock == NULL || PyModule_AddObject(module, "CLOCK", Py_NewRef(use_clock)) < 0 ||
        PyModule_AddObject(module, "Counter", Py_NewRef(&CounterType)) < 0 ||
        PyModule_AddObject(module, "VariantBase", Py_NewRef(&VariantBaseType)) < 0 ||
        PyModule_AddObject(module, "Route", Py_NewRef(&RouteType)) < 0 ||
        PyModule_AddObject(module, "Dispatch", Py_NewRef(&DispatchType)) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
