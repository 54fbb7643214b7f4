"""Template matching by normalized cross-correlation, robust to offsets.

A textured image sits on a huge offset (1e8, as raw sensor counts might) and
has a flat, saturated patch. probconv's match_template finds the template,
stays within [-1, 1] and gives 0 on the flat patch; scikit-image's one-pass
formula loses the texture under the offset (its values leave [-1, 1], issue
1712, or turn to noise).

Run:  python examples/template_matching.py          (PROBCONV_EXAMPLE_SMALL=1
      for a quick run); writes examples/out/template_matching.png.
"""

import os
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
from skimage.feature import match_template as sk_match  # noqa: E402

from probconv.similarity import match_template  # noqa: E402

SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out" / "template_matching.png"


def main():
    rng = np.random.default_rng(1)
    size, tsize = (128, 16) if SMALL else (512, 48)
    texture = scipy.ndimage.gaussian_filter(rng.standard_normal((size, size)), 2.0)
    texture /= texture.std()
    image = 1e8 + texture
    image[size // 8 : size // 3, size // 2 : size - size // 8] = 1e8 + 5.0
    corner = (int(0.6 * size), int(0.2 * size))
    template = texture[
        corner[0] : corner[0] + tsize, corner[1] : corner[1] + tsize
    ].copy()
    template += 0.3 * rng.standard_normal(template.shape)  # a noisy view

    ours = np.asarray(match_template(image, template, pad_input=True))
    theirs = sk_match(image, template, pad_input=True)
    found = np.unravel_index(np.argmax(ours), ours.shape)
    centre = (corner[0] + tsize // 2, corner[1] + tsize // 2)
    print(f"template centre {centre}, found at {tuple(int(i) for i in found)}")
    print(f"probconv range [{ours.min():.3f}, {ours.max():.3f}]")
    print(f"skimage  range [{theirs.min():.3f}, {theirs.max():.3f}]")

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    axes[0].imshow(image - 1e8, cmap="gray")
    axes[0].add_patch(
        plt.Rectangle(corner[::-1], tsize, tsize, fill=False, ec="r", lw=1.5)
    )
    axes[0].set_title("image - 1e8 (template's origin in red)")
    for ax, resp, name in ((axes[1], ours, "probconv"), (axes[2], theirs, "skimage")):
        im = ax.imshow(resp, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.plot(found[1], found[0], "k+", ms=14)
        ax.set_title(f"{name}: range [{resp.min():.2f}, {resp.max():.2f}]")
    fig.colorbar(im, ax=axes[1:], shrink=0.8, label="correlation coefficient")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=100)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
