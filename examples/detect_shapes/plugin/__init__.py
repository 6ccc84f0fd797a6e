"""The detect_shapes example plugin: generated shape images, YOLO -> COCO, a tiny CNN
trained with Lightning (autolog), batch inference and a TorchScript export."""
