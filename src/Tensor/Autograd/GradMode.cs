namespace Engine;

/// <summary>Whether operations record the autograd graph on this thread.</summary>
public static class GradMode
{
    [ThreadStatic] private static int t_disabled;

    /// <summary>True unless inside a <see cref="Tensor.NoGrad"/> scope.</summary>
    public static bool IsEnabled => t_disabled == 0;

    internal static IDisposable Disable() => new Guard();

    /// <summary>Records the graph on this thread until disposed, even inside <see cref="Tensor.NoGrad"/> (model inspection).</summary>
    internal static IDisposable Enable() => new EnableGuard();

    private sealed class EnableGuard : IDisposable
    {
        private readonly int _saved = t_disabled;
        private bool _done;
        public EnableGuard() => t_disabled = 0;
        public void Dispose() { if (!_done) { _done = true; t_disabled = _saved; } }
    }

    private sealed class Guard : IDisposable
    {
        private bool _done;
        public Guard() => t_disabled++;
        public void Dispose() { if (!_done) { _done = true; t_disabled--; } }
    }
}
