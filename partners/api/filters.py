"""What every app's API filters build on. A filter on a related object accepts only objects the caller may see,
so a hidden id and a missing id give the same answer (400, not a valid choice)."""

from partners.selectors import visible_to

from .authentication import principal_of


def visible(model):
    """The queryset of a related-object filter: the rows of `model` the caller may see."""

    def queryset(request):
        return visible_to(principal_of(request) if request is not None else None, model.objects.all())

    return queryset
