namespace Engine.Nn; /// <summary>Placeholder for the Nn layer (issue 7).</summary>
internal static class NnAssembly { }
