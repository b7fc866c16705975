namespace Engine.Kernels; internal static class K {}
