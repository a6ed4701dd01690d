import factory

from campaigns import models


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Source

    title = factory.Sequence(lambda n: f"Report {n}")
    publisher = "DFRLab"


class ThreatActorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ThreatActor

    name = factory.Sequence(lambda n: f"Actor {n}")
    actor_type = "state"
    country = "CN"


class OperationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Operation

    name = factory.Sequence(lambda n: f"Operation {n}")
    actor = factory.SubFactory(ThreatActorFactory)


class ElectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Election

    name = factory.Sequence(lambda n: f"Election {n}")
    country = "TW"
    election_type = "presidential"
    election_day = factory.Faker("date_object")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    actor = factory.SubFactory(ThreatActorFactory)
