"""Readers of the technique frameworks: DISARM Red (MISP galaxy, CSV, STIX) and Meta's kill chain (CSV).

They only parse; `services.technique_framework_load` writes. Every reader returns TechniqueSpec rows.
"""

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .vocabularies import DISARM_PHASES, DISARM_TACTICS, Framework


@dataclass(frozen=True)
class TechniqueSpec:
    external_id: str
    name: str
    tactic_id: str = ""
    tactic_name: str = ""
    phase_id: str = ""
    phase_name: str = ""
    parent_id: str = ""
    summary: str = ""
    stix_id: str = ""


@dataclass(frozen=True)
class FrameworkRelease:
    framework: str
    version: str
    techniques: list[TechniqueSpec]


_TACTIC_BY_NAME = {tactic["name"].casefold(): tactic_id for tactic_id, tactic in DISARM_TACTICS.items()}


def _disarm_spec(external_id: str, name: str, tactic_id: str, summary: str = "", stix_id: str = "") -> TechniqueSpec:
    tactic = DISARM_TACTICS.get(tactic_id, {})
    phase_id = tactic.get("phase", "")
    return TechniqueSpec(
        external_id=external_id,
        name=name.strip(),
        tactic_id=tactic_id,
        tactic_name=tactic.get("name", ""),
        phase_id=phase_id,
        phase_name=DISARM_PHASES.get(phase_id, ""),
        parent_id=external_id.split(".")[0] if "." in external_id else "",
        summary=summary.strip(),
        stix_id=stix_id,
    )


def disarm_from_misp_galaxy() -> FrameworkRelease:
    """DISARM techniques as shipped by the pymispgalaxies package (MISP's copy, DISARM v1.4)."""
    import pymispgalaxies

    path = Path(pymispgalaxies.__file__).parent / "data" / "misp-galaxy" / "clusters" / "disarm-techniques.json"
    cluster = json.loads(path.read_text(encoding="utf-8"))
    specs = []
    for value in cluster["values"]:
        meta = value["meta"]
        tactic_names = [k.split(":", 1)[1] for k in meta.get("kill_chain", []) if k.startswith("tactics:")]
        tactic_id = _TACTIC_BY_NAME.get(tactic_names[0].casefold(), "") if tactic_names else ""
        external_id = meta["external_id"]
        external_id = external_id[0] if isinstance(external_id, list) else external_id
        specs.append(_disarm_spec(external_id, value["value"], tactic_id, value.get("description", "")))
    return FrameworkRelease(Framework.DISARM, "1.4", specs)


def disarm_from_csv(path: Path, version: str) -> FrameworkRelease:
    """DISARM techniques from a CSV with technique_id, name, tactic_id (and optionally summary, stix_id)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"technique_id", "name", "tactic_id"} - set(rows[0] if rows else ())
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
    specs = [
        _disarm_spec(
            r["technique_id"].strip(), r["name"], r["tactic_id"].strip(), r.get("summary", ""), r.get("stix_id", "")
        )
        for r in rows
    ]
    return FrameworkRelease(Framework.DISARM, version, specs)


def disarm_from_stix(path: Path, version: str) -> FrameworkRelease:
    """DISARM techniques from the framework's STIX 2.1 bundle (attack-pattern objects)."""
    bundle = json.loads(Path(path).read_text(encoding="utf-8"))
    specs = []
    for obj in bundle.get("objects", []):
        if obj.get("type") != "attack-pattern" or obj.get("revoked"):
            continue
        ref = next((r for r in obj.get("external_references", []) if r.get("external_id", "").startswith("T")), None)
        if ref is None:
            continue
        phases = [p["phase_name"] for p in obj.get("kill_chain_phases", [])]
        tactic_id = _TACTIC_BY_NAME.get(phases[0].replace("-", " ").casefold(), "") if phases else ""
        specs.append(_disarm_spec(ref["external_id"], obj["name"], tactic_id, obj.get("description", ""), obj["id"]))
    return FrameworkRelease(Framework.DISARM, version, specs)


_NUMBERED = re.compile(r"^\s*(\d+(?:\.\d+)*)\.?\s+(.+?)\s*$")


def meta_kill_chain_from_csv(path: Path, version: str = "2022") -> FrameworkRelease:
    """Meta's Online Operations Kill Chain from its Tactic, Technique, Procedure CSV.

    Tactics become tactic fields; techniques and procedures become rows, a procedure's parent its technique.
    """
    specs: dict[str, TechniqueSpec] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if not any((value or "").strip() for value in row.values()):
                continue
            parsed = [_NUMBERED.match(row.get(column) or "") for column in ("Tactic", "Technique", "Procedure")]
            if not parsed[0] or not parsed[1]:
                raise ValueError(f"{path}:{line}: expected numbered Tactic and Technique, got {row!r}")
            tactic_id, tactic_name = parsed[0].groups()
            for match, parent in ((parsed[1], ""), (parsed[2], parsed[1].group(1))):
                if match and match.group(1) not in specs:
                    specs[match.group(1)] = TechniqueSpec(
                        external_id=match.group(1),
                        name=match.group(2),
                        tactic_id=tactic_id,
                        tactic_name=tactic_name,
                        parent_id=parent,
                    )
    return FrameworkRelease(Framework.META_KILL_CHAIN, version, list(specs.values()))


def release_from_file(path: Path, framework: str, version: str) -> FrameworkRelease:
    """Pick the reader by framework and file type."""
    path = Path(path)
    if framework == Framework.META_KILL_CHAIN:
        return meta_kill_chain_from_csv(path, version)
    if path.suffix.lower() == ".json":
        return disarm_from_stix(path, version)
    return disarm_from_csv(path, version)
