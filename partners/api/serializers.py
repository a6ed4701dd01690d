"""Serializers every app's API builds on. Related objects render only when visible (see views.visible_prefetch)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

REF_SCHEMA = inline_serializer("Ref", fields={"id": serializers.IntegerField(), "name": serializers.CharField()})


@extend_schema_field(REF_SCHEMA)
class Ref(serializers.RelatedField):
    """A related object as {id, name}; null (or left out of a list) when the caller may not see it."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        if not kwargs.get("many"):
            kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def use_pk_only_optimization(self) -> bool:
        return False  # read the prefetched (visibility-filtered) object, never the raw foreign key

    def to_representation(self, value):
        return {"id": value.pk, "name": str(value)}


class MarkedSerializer(serializers.ModelSerializer):
    """Fields every marked record shows: its id, its STIX id, its TLP marking and its timestamps."""

    stix_type = ""
    stix_id = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_stix_id(self, obj) -> str:
        return f"{self.stix_type}--{obj.stix_uuid}"

    marked_fields = ("id", "stix_id", "tlp", "created_at", "updated_at")
