"""The kit's image reader gives every engine's images the same size, where the engines' own figures differ.

Podman's image ``Size`` counts each layer's tar (headers and padding) and the image's metadata: 774.8 MB
for the debian variant that Docker 20.10 calls 760.2 MB, 9.0 MB for distroless against 8.1 MB. The
reader counts the files' bytes, as the classic engine does, on whichever engine the suite runs.
Tests of internals.
"""

from __future__ import annotations

import json

import pytest

from helpers.catalog import VARIANTS
from helpers.image import read_image
from helpers.recording import RECORDING

pytestmark = pytest.mark.docker


def test_every_variant_reads_as_recorded_on_docker_20_10(built) -> None:
    recorded = json.loads(RECORDING.read_text())["results"]
    for name in VARIANTS:
        stats = read_image(built[name].tag, compress=False)
        want = recorded[name]["size_bytes"]
        assert len(stats.layers) == built[name].fs_layers, name
        assert abs(stats.unpacked_bytes - want) <= 0.001 * want, (name, stats.unpacked_bytes, want)
