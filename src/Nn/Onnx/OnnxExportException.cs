namespace Engine.Nn;

/// <summary>A model cannot be written as ONNX: it uses an op (named in the message) that ONNX opset 17 cannot express, or it is not in a state that can be exported.</summary>
public sealed class OnnxExportException(string message) : EngineException("onnx_export", message);
