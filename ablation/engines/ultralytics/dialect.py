"""The ultralytics package's model yaml dialect (8.4.190's ``parse_model``), for the surgery:
plain data and one hook, no import of the package.

Its yamls keep their scaling in a ``scales:`` table (``[depth, width, max_channels]`` per scale
letter) selected by ``scale:`` (``models.model_yaml`` writes it), older ones (v3, v5, v6) in
``depth_multiple``/``width_multiple``; widths are ``make_divisible(min(c, max_channels) * width,
8)``. ``c3_inside`` turns ``C2f`` and ``C3k2`` rows into ``C2fAttention`` and ``C3k2Attention``
(``csp_attn``), which keep every argument of the host row (defaults filled in), then the
attention's name, its point and its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ablation.engines.dialect import AttentionHost, Dialect, Multiples


class UltralyticsDialect(Dialect):
    """``multiples`` reads ``scales:`` at ``scale:`` (else the two multiples, default 1.0, no cap);
    ``checkpoint_classes`` reads the anchor-free head."""

    def multiples(self, header: Mapping[str, Any]) -> Multiples:
        scales = header.get("scales")
        if not scales:
            return Multiples(float(header.get(self.depth_key, 1.0)), float(header.get(self.width_key, 1.0)))
        scale = header.get("scale")
        if scale not in scales:
            # the package would take the first scale with a warning: the plan would count another model
            raise ValueError(
                f"the model yaml has scales {', '.join(map(str, scales))} but its scale: is {scale!r}; "
                f"add `scale: {next(iter(scales))}` (one of those) to the yaml."
            )
        depth, width, max_channels = scales[scale]
        return Multiples(float(depth), float(width), int(max_channels))

    def explicit_widths(self, header: Mapping[str, Any], widest: int) -> dict[str, Any]:
        scales = header.get("scales")
        if not scales:
            return super().explicit_widths(header, widest)
        scaling = self.multiples(header)
        table = {k: list(v) for k, v in scales.items()}
        table[header["scale"]] = [scaling.depth, 1.0, max(scaling.max_channels or 0, widest)]
        return {**header, "scales": table}

    def checkpoint_classes(self, state: Mapping[str, Any], detect: int) -> int | None:
        """The anchor-free ``Detect``: the last convolution of its first class branch
        (``cv3.0.<last>``) has ``nc`` output channels, in the legacy (v8) and current heads alike."""
        prefix = f"model.{detect}.cv3.0."
        convs = [v for k, v in state.items() if k.startswith(prefix) and k.endswith(".weight") and v.dim() == 4]
        return int(convs[-1].shape[0]) if convs else None


ULTRALYTICS = UltralyticsDialect(
    family="Ultralytics",
    header_keys=("nc",),
    # parse_model's ``base_modules``: c2 = make_divisible(min(args[0], max_channels) * width, 8)
    # (Classify is in that set but keeps c2 = nc; it is not a detection layer)
    scaled_width=frozenset(
        {
            "Conv",
            "ConvTranspose",
            "GhostConv",
            "Bottleneck",
            "GhostBottleneck",
            "SPP",
            "SPPF",
            "C2fPSA",
            "C2PSA",
            "DWConv",
            "Focus",
            "BottleneckCSP",
            "C1",
            "C2",
            "C2f",
            "C3k2",
            "RepNCSPELAN4",
            "ELAN1",
            "ADown",
            "AConv",
            "SPPELAN",
            "C2fAttn",
            "C3",
            "C3TR",
            "C3Ghost",
            "nn.ConvTranspose2d",
            "DWConvTranspose2d",
            "C3x",
            "RepC3",
            "PSA",
            "SCDown",
            "C2fCIB",
            "A2C2f",
            "C2fAttention",  # ours (csp_attn): the width of the host they replace
            "C3k2Attention",
        }
    ),
    concat="Concat",
    upsample=frozenset({"nn.Upsample"}),
    # [c2, k, s] rows; ADown and AConv halve the map with no stride argument
    strided={"Conv": 1, "GhostConv": 1, "DWConv": 1, "SCDown": 1, "Focus": 2, "ADown": 2, "AConv": 2},
    detect=(
        "Detect",
        "v10Detect",
        "YOLOEDetect",
        "WorldDetect",
        "Segment",
        "Segment26",
        "YOLOESegment",
        "YOLOESegment26",
        "Pose",
        "Pose26",
        "OBB",
        "OBB26",
    ),
    csp_blocks=("C3k2", "C2f", "C3", "C3x", "C3TR", "C3Ghost", "C2fCIB", "A2C2f", "RepC3", "C2", "C1", "BottleneckCSP"),
    pools=("SPPF", "SPP", "SPPELAN"),
    attention_hosts={
        # C3k2(c1, c2, n, c3k, e, attn, g, shortcut) and C2f(c1, c2, n, shortcut, g, e): their yaml args
        "C3k2": AttentionHost("C3k2Attention", (None, False, 0.5, False, 1, True)),
        "C2f": AttentionHost("C2fAttention", (None, False, 1, 0.5)),
    },
)
