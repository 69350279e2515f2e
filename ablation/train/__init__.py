"""Train: the upstream YOLOv5 engine, one config per process."""
