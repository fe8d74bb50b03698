"""The named studies: ``STUDIES[name]`` is a plain-data ``StudySpec`` (see ``search_spaces._spec``).

One module per study; each module's docstring gives its command, the paper table or figure it rebuilds
and its expected run time per profile. A new study is a new module plus one line here.
"""

from search_spaces import (
    dataset_fraction_traffic,
    digit_resolution,
    low_data_search,
    memory_size,
    noise_amount,
    noise_thickness,
    noise_thickness_continuous,
    o2i_data_size,
    patch_size_low_data,
    patch_size_traffic,
)
from search_spaces._spec import (
    PROFILE_NAMES,
    Choice,
    IntUniform,
    LogUniform,
    Profile,
    Search,
    SpecError,
    StudySpec,
    Uniform,
)

STUDIES: dict[str, StudySpec] = {
    module.STUDY.name: module.STUDY
    for module in (
        patch_size_low_data,
        noise_thickness,
        noise_thickness_continuous,
        noise_amount,
        o2i_data_size,
        digit_resolution,
        memory_size,
        low_data_search,
        patch_size_traffic,
        dataset_fraction_traffic,
    )
}

__all__ = [
    "PROFILE_NAMES",
    "STUDIES",
    "Choice",
    "IntUniform",
    "LogUniform",
    "Profile",
    "Search",
    "SpecError",
    "StudySpec",
    "Uniform",
]
