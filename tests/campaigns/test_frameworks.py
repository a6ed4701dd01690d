import pytest

from campaigns import frameworks, services
from campaigns.models import Technique

pytestmark = pytest.mark.django_db


def test_misp_galaxy_disarm_loads_and_reloads_without_change():
    release = frameworks.disarm_from_misp_galaxy()
    first = services.technique_framework_load(release=release)
    assert first.created == len(release.techniques) == 298
    again = services.technique_framework_load(release=release)
    assert (again.created, again.updated, again.retired, again.unchanged) == (0, 0, 0, 298)
    t0049 = Technique.objects.get(framework="disarm", external_id="T0049.001")
    assert t0049.parent.external_id == "T0049"
    assert t0049.tactic_id.startswith("TA")


def test_disarm_v16_keeps_retired_v14_ids_resolvable(shared_data):
    services.technique_framework_load(release=frameworks.disarm_from_misp_galaxy())
    v16 = frameworks.disarm_from_csv(shared_data / "disarm" / "disarm_red_techniques.csv", "1.6")
    assert len(v16.techniques) == 391
    result = services.technique_framework_load(release=v16)
    assert result.retired > 0
    current = Technique.objects.filter(framework="disarm", retired=False)
    assert current.count() == 391
    retired = Technique.objects.filter(framework="disarm", retired=True)
    assert retired.count() == result.retired
    assert all(t.framework_version == "1.4" for t in retired)
    # Loading the older release again afterwards does not un-retire or overwrite anything.
    older = services.technique_framework_load(release=frameworks.disarm_from_misp_galaxy())
    assert older.created == older.updated == 0
    assert Technique.objects.filter(framework="disarm", retired=False).count() == 391


def test_meta_kill_chain_loads_tactics_techniques_and_procedures(shared_data):
    release = frameworks.meta_kill_chain_from_csv(shared_data / "meta-ooc" / "Online_Operations_Killchain-TTPs.csv")
    services.technique_framework_load(release=release)
    techniques = Technique.objects.filter(framework="meta_ooc", parent__isnull=True)
    assert techniques.count() == 54
    assert len({t.tactic_id for t in techniques}) == 10
    procedure = Technique.objects.get(framework="meta_ooc", external_id="0.1.1")
    assert procedure.parent.external_id == "0.1"
    assert procedure.tactic_name == "Acquiring assets"
