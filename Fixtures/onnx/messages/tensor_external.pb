Bconv1/kernelj
locationmodel.onnx.dataj
offset65536j
length1152p