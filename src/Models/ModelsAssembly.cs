namespace Engine.Models; /// <summary>Placeholder for model families.</summary>
internal static class ModelsAssembly { }
