"""bench_onnx.py PORT.py OUT.onnx C H W -- make bench only: the ONNX file of
k2t's PyTorch port (k2t -c 'export pytorch PORT.py'), the same weights, for
ONNX Runtime to run side by side with k2t.  Needs torch (Debian's 1.13 in
/usr/bin/python3); the batch axis is dynamic."""
import importlib.util
import sys

import torch

port, out, c, h, w = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
spec = importlib.util.spec_from_file_location("k2t_port", port)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
model = mod.load_model()
model.eval()
x = torch.rand(1, c, h, w)
with torch.no_grad():
    torch.onnx.export(model, x, out, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=13)
print("wrote %s" % out)
