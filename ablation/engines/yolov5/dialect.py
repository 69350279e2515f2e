"""YOLOv5's model yaml dialect (7.0.14's ``parse_model``), for the surgery: plain data, no import
of upstream."""

from __future__ import annotations

from ablation.engines.dialect import AttentionHost, Dialect

YOLOV5 = Dialect(
    family="YOLOv5",
    header_keys=("nc", "depth_multiple", "width_multiple", "anchors"),
    # parse_model's ``if m in {...}``: c2 = make_divisible(args[0] * width_multiple, 8); C3Attn is ours
    scaled_width=frozenset(
        {
            "Conv",
            "GhostConv",
            "Bottleneck",
            "GhostBottleneck",
            "SPP",
            "SPPF",
            "DWConv",
            "MixConv2d",
            "Focus",
            "CrossConv",
            "BottleneckCSP",
            "C3",
            "C3TR",
            "C3SPP",
            "C3Ghost",
            "nn.ConvTranspose2d",
            "DWConvTranspose2d",
            "C3x",
            "C3Attn",
        }
    ),
    concat="Concat",
    upsample=frozenset({"nn.Upsample"}),
    strided={"Conv": 1, "GhostConv": 1, "DWConv": 1, "CrossConv": 1, "Focus": 2},
    detect=("Detect", "Segment"),
    csp_blocks=("C3", "C3x", "C3TR", "C3Ghost", "C3SPP", "BottleneckCSP"),
    pools=("SPPF", "SPP"),
    # C3Attn(c1, c2, n, shortcut, attention, point, *attention_args): C3's c2 and shortcut (default True)
    attention_hosts={"C3": AttentionHost("C3Attn", (None, True))},
    space_to_depth=frozenset({"Contract"}),
    depth_to_space=frozenset({"Expand"}),
)
