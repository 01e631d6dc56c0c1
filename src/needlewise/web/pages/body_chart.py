"""The body chart of the session note: where each muscle's hotspot sits on the front and
back figures (presentation only — which muscles exist, and their names and regions, come
from ``knowledge/data/muscles.yaml``).

Both figures are drawn in a 200 by 440 box, facing the reader; the table gives the
hotspot on the reader's left half and the figure mirrors it (``x`` becomes ``200 - x``)
for the other side. On the front figure the reader's left is the patient's right; on
the back figure it is the patient's left. A muscle missing from the table still has its
checkbox in the list (the list is the equal alternative to the figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Muscle

View = Literal["front", "back"]
WIDTH, HEIGHT, MIDDLE = 200, 440, 100

#: muscle id -> [(view, x, y, rx, ry)] on the reader's left half of that view
HOTSPOTS: dict[str, list[tuple[View, float, float, float, float]]] = {
    "muscle.temporalis": [("front", 86, 28, 5, 7)],
    "muscle.masseter": [("front", 90, 46, 4, 6)],
    "muscle.sternocleidomastoid": [("front", 93, 68, 4, 8)],
    "muscle.scalenes": [("front", 84, 72, 4, 5)],
    "muscle.pectoralis-minor": [("front", 76, 96, 6, 5)],
    "muscle.pectoralis-major": [("front", 82, 114, 11, 8)],
    "muscle.serratus-anterior": [("front", 66, 140, 5, 10)],
    "muscle.deltoid": [("front", 54, 98, 7, 10), ("back", 54, 98, 7, 10)],
    "muscle.biceps-brachii": [("front", 48, 138, 6, 14)],
    "muscle.wrist-flexors": [("front", 38, 188, 5, 14)],
    "muscle.psoas": [("front", 90, 200, 5, 12)],
    "muscle.tensor-fasciae-latae": [("front", 70, 224, 5, 9)],
    "muscle.quadriceps": [("front", 78, 275, 9, 24)],
    "muscle.adductors": [("front", 93, 262, 4, 16)],
    "muscle.tibialis-anterior": [("front", 80, 350, 4, 18)],
    "muscle.fibularis": [("front", 72, 352, 3, 16)],
    "muscle.cervical-paraspinals": [("back", 95, 64, 4, 8)],
    "muscle.levator-scapulae": [("back", 86, 74, 4, 6)],
    "muscle.upper-trapezius": [("back", 74, 86, 9, 5)],
    "muscle.supraspinatus": [("back", 68, 98, 7, 4)],
    "muscle.middle-trapezius": [("back", 86, 104, 6, 4)],
    "muscle.rhomboids": [("back", 88, 118, 5, 7)],
    "muscle.infraspinatus": [("back", 70, 118, 8, 7)],
    "muscle.teres-major-minor": [("back", 62, 134, 6, 4)],
    "muscle.lower-trapezius": [("back", 88, 140, 5, 8)],
    "muscle.thoracic-paraspinals": [("back", 96, 150, 3, 14)],
    "muscle.latissimus-dorsi": [("back", 72, 160, 7, 14)],
    "muscle.triceps-brachii": [("back", 48, 138, 6, 14)],
    "muscle.wrist-extensors": [("back", 38, 188, 5, 14)],
    "muscle.quadratus-lumborum": [("back", 82, 190, 5, 7)],
    "muscle.lumbar-paraspinals": [("back", 93, 190, 3, 10)],
    "muscle.multifidus": [("back", 97, 208, 2.5, 6)],
    "muscle.gluteus-medius": [("back", 72, 218, 8, 6)],
    "muscle.gluteus-minimus": [("back", 66, 228, 4, 5)],
    "muscle.piriformis": [("back", 84, 230, 6, 3)],
    "muscle.gluteus-maximus": [("back", 84, 244, 10, 8)],
    "muscle.hamstrings": [("back", 82, 290, 8, 24)],
    "muscle.gastrocnemius": [("back", 80, 340, 7, 14)],
    "muscle.soleus": [("back", 80, 368, 6, 8)],
    "muscle.tibialis-posterior": [("back", 86, 384, 3, 8)],
    "muscle.plantar-foot-muscles": [("back", 80, 428, 6, 4)],
}


@dataclass(frozen=True)
class Hotspot:
    """One clickable spot: the muscle, the patient's side it stands for, and its ellipse."""

    muscle: str
    title: str
    side: Literal["left", "right"]
    cx: float
    cy: float
    rx: float
    ry: float


def hotspots(kb: KnowledgeBase, view: View, language: str) -> list[Hotspot]:
    """The hotspots of ``view`` for every muscle the knowledge base has, both sides."""
    near_side: Literal["left", "right"] = "right" if view == "front" else "left"
    far_side: Literal["left", "right"] = "left" if view == "front" else "right"
    found: list[Hotspot] = []
    for muscle in kb.data.muscles:
        for where, x, y, rx, ry in HOTSPOTS.get(muscle.id, []):
            if where != view:
                continue
            title = muscle.title.get(language)
            found.append(Hotspot(muscle.id, title, near_side, x, y, rx, ry))
            found.append(Hotspot(muscle.id, title, far_side, WIDTH - x, y, rx, ry))
    return found


def by_region(kb: KnowledgeBase, language: str) -> list[tuple[str, list[Muscle]]]:
    """The muscles grouped by region, in the knowledge base's order of regions."""
    groups: dict[str, list[Muscle]] = {region.id: [] for region in kb.data.regions}
    for muscle in kb.data.muscles:
        groups.setdefault(muscle.region, []).append(muscle)
    titled: list[tuple[str, list[Muscle]]] = []
    for region_id, muscles in groups.items():
        region = kb.region(region_id)
        if muscles:
            titled.append((region.title.get(language) if region else region_id, muscles))
    return titled
