"""Tests of probconv.similarity.match_template against
skimage.feature.match_template and a brute-force per-window Pearson."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _reference import check_grads
from hypothesis import given
from hypothesis import strategies as hst
from numpy.lib.stride_tricks import sliding_window_view
from skimage.feature import match_template as sk_match

from probconv.similarity import match_template

# Tolerances (absolute, on coefficients in [-1, 1]). float64: skimage and
# probconv both use an FFT correlation and running sums, each with errors of
# a few hundred eps at these sizes. float32: eps32 times the same factor.
TOL = {"float64": 1e-10, "float32": 1e-4}

# probconv's (scipy.ndimage's) boundary names -> numpy.pad's, which skimage uses.
MODES = {
    "constant": "constant",
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
}


def brute(image, template):
    """Pearson of the template and every window, 0 for constant windows."""
    windows = sliding_window_view(image, template.shape)
    out = np.zeros(windows.shape[: image.ndim])
    t = template - template.mean()
    if np.all(template == template.flat[0]):
        return out
    for idx in np.ndindex(out.shape):
        w = windows[idx]
        if np.all(w == w.flat[0]):
            continue
        wc = w - w.mean()
        out[idx] = np.sum(wc * t) / np.sqrt(np.sum(wc**2) * np.sum(t**2))
    return out


@pytest.mark.parametrize(
    "shape,tshape,modes",
    [
        ((40, 33), (7, 6), tuple(MODES)),
        ((12, 13, 11), (3, 4, 5), ("constant", "mirror")),
    ],
)
def test_matches_skimage(shape, tshape, modes):
    r = np.random.default_rng(len(shape))
    image = r.standard_normal(shape)
    template = r.standard_normal(tshape)
    got = match_template(image, template)  # no padding: the mode is unused
    np.testing.assert_allclose(got, sk_match(image, template), atol=TOL["float64"])
    for mode in modes:
        got = match_template(
            image, template, pad_input=True, mode=mode, constant_values=0.3
        )
        kw = {"constant_values": 0.3} if mode == "constant" else {}
        ref = sk_match(image, template, pad_input=True, mode=MODES[mode], **kw)
        assert got.shape == ref.shape == image.shape
        np.testing.assert_allclose(got, ref, atol=TOL["float64"], err_msg=mode)


def test_float32_matches_skimage():
    r = np.random.default_rng(1)
    image = r.random((50, 45)).astype(np.float32)
    template = image[10:18, 20:27].copy()
    got = match_template(image, template)
    assert got.dtype == jnp.float32
    ref = sk_match(image.astype(float), template.astype(float))
    np.testing.assert_allclose(got, ref, atol=TOL["float32"])
    assert np.unravel_index(np.argmax(got), got.shape) == (10, 20)


def test_one_dimensional_and_integer_images():
    r = np.random.default_rng(2)
    image = r.integers(0, 5, 60)
    template = r.integers(0, 5, 7)
    got = match_template(image, template)
    np.testing.assert_allclose(got, brute(image.astype(float), template), atol=1e-12)


def test_huge_offset_and_constant_regions():
    # skimage's one-pass formula loses the noise under a 1e8 offset and can
    # leave [-1, 1] (its issue 1712); probconv's shifted sums do not.
    r = np.random.default_rng(3)
    image = 1e8 + r.standard_normal((48, 52))
    image[10:30, 5:25] = 1e8 + 2.0
    template = r.standard_normal((5, 6))
    got = np.asarray(match_template(image, template))
    ref = brute(image - 1e8, template)  # the shift is exact in float64
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert np.all(got[10:26, 5:20] == 0)  # windows inside the constant block
    assert np.max(np.abs(got - sk_match(image, template))) > 1e-3  # skimage errs


def test_padding_far_from_the_image_level():
    # Zero padding next to an image at 1e8: the shift comes from the image,
    # not the padded image, so interior windows keep their accuracy.
    r = np.random.default_rng(7)
    image = 1e8 + r.standard_normal((30, 28))
    template = r.standard_normal((5, 4))
    got = np.asarray(match_template(image, template, pad_input=True))
    padded = np.pad(image - 1e8, [(2, 2), (2, 1)], constant_values=-1e8)
    np.testing.assert_allclose(got, brute(padded, template), atol=1e-9)


def test_constant_template_and_constant_image():
    r = np.random.default_rng(4)
    image = r.standard_normal((20, 20))
    assert np.all(np.asarray(match_template(image, np.full((3, 3), 2.0))) == 0)
    flat = match_template(np.full((20, 20), 7.0), r.standard_normal((4, 4)))
    assert np.all(np.asarray(flat) == 0)


def test_large_template_uses_prefix_sums():
    # Windows longer than 256 take the O(n) prefix-sum path.
    r = np.random.default_rng(5)
    image = r.standard_normal((3, 700))
    template = r.standard_normal((2, 300))
    got = match_template(image, template)
    np.testing.assert_allclose(got, sk_match(image, template), atol=TOL["float64"])


@given(
    shape=hst.sampled_from([(9, 10), (6, 7, 8)]),
    frac=hst.sampled_from([0.3, 1.0]),
    seed=hst.integers(0, 2**31),
    offset=hst.sampled_from([0.0, 1e6]),
)
def test_property_against_brute_force(shape, frac, seed, offset):
    r = np.random.default_rng(seed)
    image = offset + r.standard_normal(shape).round(1)  # ties, flat patches
    tshape = tuple(max(1, int(frac * n) // 2) for n in shape)
    template = r.standard_normal(tshape)
    got = np.asarray(match_template(image, template))
    assert np.all(np.abs(got) <= 1) and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, brute(image - offset, template), atol=1e-9)


def test_jit_vmap_grad():
    r = np.random.default_rng(6)
    images = jnp.asarray(r.standard_normal((3, 12, 11)))
    template = jnp.asarray(r.standard_normal((3, 4)))

    def f(im, t):
        return match_template(im, t, pad_input=True, mode="reflect")

    np.testing.assert_allclose(jax.jit(f)(images[0], template), f(images[0], template))
    loop = jnp.stack([f(im, template) for im in images])
    np.testing.assert_allclose(
        jax.jit(jax.vmap(f, (0, None)))(images, template), loop, atol=1e-14
    )
    check_grads(jax.jit(f), (images[0], template), order=1, modes=("fwd", "rev"))


def test_match_template_errors():
    image = np.zeros((5, 5))
    with pytest.raises(ValueError, match="as many dimensions as `image`"):
        match_template(image, np.zeros(3))
    with pytest.raises(ValueError, match="no larger than `image`"):
        match_template(image, np.zeros((6, 2)))
    with pytest.raises(ValueError, match="`mode` must be one of"):
        match_template(image, np.ones((2, 2)), pad_input=True, mode="symmetric")
    with pytest.raises(TypeError, match="`pad_input` must be True or False"):
        match_template(image, np.ones((2, 2)), pad_input="yes")
    with pytest.raises(TypeError, match="`template` must be real"):
        match_template(image, np.ones((2, 2)) * 1j)
    with pytest.raises(TypeError, match="`constant_values` must be a real number"):
        match_template(image, np.ones((2, 2)), constant_values="zero")
    with pytest.raises(ValueError, match="`method` must be one of"):
        match_template(image, np.ones((2, 2)), method="fast")
