"""geographiclib: distances, routes and areas on the WGS84 ellipsoid.

A user of geographiclib solves geodesic problems with ``Geodesic.WGS84``: the inverse problem
(distance and azimuths between two points), the direct problem (where a course leads), points
along a route (``InverseLine`` + ``Position``) and the area of polygons (``Polygon``). Here,
seeded random points over the globe: all pairwise inverse problems within a set, direct
problems from each, waypoints along great-ellipse routes, and areas and perimeters of random
polygons. The work is scalar float code (series, Newton iterations) in methods of
``Geodesic``, ``GeodesicLine``, ``PolygonArea`` and the ``Math`` helpers.
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from corpus_common import Digest, pick
from geographiclib.geodesic import Geodesic

FIELDS = ("s12", "azi1", "azi2", "a12", "m12", "M12", "M21", "S12")


def main() -> None:
    rng = random.Random(8)
    digest = Digest()
    geod = Geodesic.WGS84
    points = [(rng.uniform(-89, 89), rng.uniform(-180, 180)) for _ in range(pick(170, 12))]
    inverse = []
    for lat1, lon1 in points:
        for lat2, lon2 in points:
            result = geod.Inverse(lat1, lon1, lat2, lon2, Geodesic.ALL)
            inverse.append([result[field] for field in FIELDS])
    digest.add("inverse", inverse)
    direct = []
    for lat, lon in points:
        for azimuth in range(0, 360, 15):
            result = geod.Direct(lat, lon, azimuth, rng.uniform(1e3, 1e7))
            direct.append([result["lat2"], result["lon2"], result["azi2"]])
    digest.add("direct", direct)
    waypoints = []
    # zip, not itertools.pairwise or strict=: the drivers also run on PyPy 3.9.
    for (lat1, lon1), (lat2, lon2) in zip(points, points[1:]):  # noqa: B905, RUF007
        line = geod.InverseLine(lat1, lon1, lat2, lon2)
        for k in range(21):
            position = line.Position(line.s13 * k / 20)
            waypoints.append([position["lat2"], position["lon2"]])
    digest.add("waypoints", waypoints)
    areas = []
    for _ in range(pick(40, 5)):
        polygon = geod.Polygon()
        for lat, lon in rng.sample(points, 8):
            polygon.AddPoint(lat / 4, lon / 4)  # keep the polygons simple-ish and small
        areas.append(list(polygon.Compute()))
    digest.add("polygons", areas)
    digest.close()


if __name__ == "__main__":
    main()
