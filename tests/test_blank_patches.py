"""BlankPatchReuse: each distinct constant patch is encoded once per pass, and the result is the plain one.

The plain pass embeds every chunk whole; the reuse encodes fewer patches per call. oneDNN's convolutions
may round a patch differently with its place in a batch on tiny feature maps (8-px patches here: about
1e-7), so these unit tests compare to 1e-6 and check the sharing exactly; tests/test_fast_selection.py
checks the bits and the selections at real geometries."""

from __future__ import annotations

import torch

from ips.blank_patches import BlankPatchReuse
from ips.config import EncoderConfig
from ips.data.patches import ImagePatches, TensorPatches, constant_fills
from ips.encoder import PatchEncoder
from ips.selection import select_patches

torch.set_num_threads(1)
PATCH = 8


class CountingEmbed:
    """A real encoder in eval mode: ``embed(patches [B, k, C, P, P]) -> [B, k, D]``; ``features`` (counting
    the patches it is given) -> [B, k, F] and ``project`` [B, k, F] -> [B, k, D], as ``IPSModel``."""

    def __init__(self, channels: int = 3) -> None:
        torch.manual_seed(0)
        self.encoder = PatchEncoder(EncoderConfig(input_channels=channels), 16).eval()
        self.calls: list[int] = []

    @torch.no_grad()
    def __call__(self, patches: torch.Tensor) -> torch.Tensor:
        return self.encoder(patches.flatten(0, 1)).view(*patches.shape[:2], -1)

    @torch.no_grad()
    def features(self, patches: torch.Tensor) -> torch.Tensor:
        self.calls.append(patches.shape[0] * patches.shape[1])
        return self.encoder.features(patches.flatten(0, 1)).view(*patches.shape[:2], -1)

    @torch.no_grad()
    def project(self, features: torch.Tensor) -> torch.Tensor:
        return self.encoder.projection(features)


def patchwork() -> torch.Tensor:
    """Two 3-channel images of 4 x 5 patches: black, white, one colour, and textured patches."""
    images = torch.rand(2, 3, 4 * PATCH, 5 * PATCH, generator=torch.Generator().manual_seed(0))
    images[:, :, :PATCH] = 0.0  # the first row of patches: black
    images[0, :, PATCH : 2 * PATCH, : 3 * PATCH] = 1.0  # three white patches in image 0
    images[1, :, PATCH : 2 * PATCH, PATCH : 2 * PATCH] = torch.tensor([0.2, 0.5, 0.7]).view(3, 1, 1)
    return images


def test_constant_fills_find_one_value_per_channel():
    source = ImagePatches(patchwork(), PATCH)
    constant, fills = source.constant_fills()  # [2, 20], [2, 20, 3]
    assert constant[0].tolist() == [True] * 5 + [True] * 3 + [False] * 12
    assert constant[1].tolist() == [True] * 5 + [False, True] + [False] * 13
    torch.testing.assert_close(fills[1, 6], torch.tensor([0.2, 0.5, 0.7]))
    assert torch.equal(fills[0, 5], torch.ones(3))
    every = source.all()
    assert torch.equal(constant_fills(every)[0], constant) and torch.equal(
        TensorPatches(every).constant_fills()[1], fills
    )
    nan = every.clone()
    nan[0, 0, 0, 0, 0] = float("nan")
    assert not constant_fills(nan)[0][0, 0]  # a NaN makes a patch non-constant: it is encoded as it is


def test_blank_patches_are_encoded_once_and_embedded_to_the_last_bit():
    source = ImagePatches(patchwork(), PATCH)
    embed = CountingEmbed()
    reuse = BlankPatchReuse(embed.features, embed.project)
    constant, fills = source.constant_fills()
    chunks = [torch.arange(0, 7), torch.arange(7, 14), torch.arange(14, 20)]
    for indices in chunks:  # the plain pass embeds each chunk whole
        reference = embed(source.take(indices))  # [2, k, 16]
        embedded = reuse.from_source(source, indices.expand(2, -1), constant, fills)
        torch.testing.assert_close(embedded, reference, rtol=0, atol=1e-6)
    assert reuse.encoded == (40 - 14) + 3  # the textured patches, and black, white, the colour once each
    assert reuse.fills.shape == (3, 3)


def test_a_chunk_of_known_fills_needs_no_encoder_call():
    images = torch.zeros(1, 1, 4 * PATCH, 5 * PATCH)
    images[..., -PATCH:, -PATCH:] = torch.rand(PATCH, PATCH)  # the last patch is textured
    embed = CountingEmbed(channels=1)
    reuse = BlankPatchReuse(embed.features, embed.project)
    patches = ImagePatches(images, PATCH).all()  # [1, 20, 1, P, P]
    first, second = reuse.from_patches(patches[:, :5]), reuse.from_patches(patches[:, 5:15])
    last = reuse.from_patches(patches[:, 15:])
    assert embed.calls == [1, 1]  # one blank patch in the first chunk, none in the second, the textured one
    plain = [embed(patches[:, :5]), embed(patches[:, 5:15]), embed(patches[:, 15:])]
    torch.testing.assert_close(torch.cat([first, second, last], 1), torch.cat(plain, 1), rtol=0, atol=1e-6)
    assert torch.equal(second, second[:, :1].expand_as(second))  # one embedding for every blank patch


def test_fills_beyond_the_table_are_encoded_like_any_patch():
    source = ImagePatches(patchwork(), PATCH)
    embed = CountingEmbed()
    reuse = BlankPatchReuse(embed.features, embed.project, max_fills=1)
    constant, fills = source.constant_fills()
    indices = torch.arange(20).expand(2, -1)
    embedded = reuse.from_source(source, indices, constant, fills)
    torch.testing.assert_close(embedded, embed(source.all()), rtol=0, atol=1e-6)
    assert reuse.fills.shape == (1, 3) and reuse.encoded == 40 - 10 + 1  # only black was shared


def test_reuse_selects_as_the_plain_pass_from_every_kind_of_source():
    images = patchwork()
    source = ImagePatches(images, PATCH)
    embed = CountingEmbed()

    def score(embeddings, positions):
        return embeddings[..., 0] + 1e-3 * embeddings[..., 1]  # [B, K]

    plain = select_patches(source, embed, score, 6, 4, return_all_scores=True)
    for kind in (source, source.all()):
        embed.calls.clear()
        fast = select_patches(
            kind,
            embed.features,
            score,
            6,
            4,
            return_all_scores=True,
            reuse_blank_patches=True,
            project=embed.project,
        )
        assert torch.equal(fast.indices, plain.indices) and torch.equal(fast.patches, plain.patches)
        torch.testing.assert_close(fast.all_scores, plain.all_scores, rtol=0, atol=1e-6)
        assert sum(embed.calls) < 40
