using System.CommandLine;
using System.Text.Json;

namespace Engine.Cli;

/// <summary>
/// The <c>engine</c> command: its verbs (each in its own file under Commands/), the numeric ranges of their options
/// (<see cref="OptionRanges"/>), and one error policy: every failure, a parse error or one found while running, ends
/// with exit code 2 (bad input or I/O) or 1 (an internal error) and ONE line "error: ..." naming the option or the
/// file and the reason, never a stack trace.
/// </summary>
internal static class EngineCommand
{
    private static readonly AsyncLocal<TextWriter?> s_output = new();

    /// <summary>Where the verbs write: the writer given to <see cref="Run"/> (in-process callers and tests), else the console.</summary>
    public static TextWriter Output => s_output.Value ?? Console.Out;

    /// <summary>The root command with every verb and the range validators.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("Engine: train and evaluate CNN image classifiers on the CPU or a CUDA GPU, from C#.")
        {
            TrainCommand.Create(), EvalCommand.Create(), ModelsCommand.Create(), SummaryCommand.Create(), ExportCommand.Create(), BenchCommand.Create(),
            InfoCommand.Create(), FinetuneCommand.Create(), DistillCommand.Create(), PseudoLabelCommand.Create(),
            NoisyStudentCommand.Create(), KnnCommand.Create(), DeformDemoCommand.Create(),
        };
        OptionRanges.Apply(root);
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; the verbs write to <paramref name="output"/>, errors go to <paramref name="error"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var parsed = Create().Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"error: {OneLine(parsed.Errors[0].Message)}");
            return 2;
        }
        var previous = s_output.Value;
        s_output.Value = output;
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            error.WriteLine(Describe(e));
            return IsUserError(e) ? 2 : 1;
        }
        finally { s_output.Value = previous; }
    }

    /// <summary>Bad input or an environment problem the user can fix, as opposed to a bug in the engine.</summary>
    public static bool IsUserError(Exception e) =>
        e is EngineException or IOException or UnauthorizedAccessException or JsonException or OutOfMemoryException;

    /// <summary>The one line reporting <paramref name="e"/>.</summary>
    public static string Describe(Exception e) => IsUserError(e)
        ? $"error: {OneLine(e.Message)}"
        : $"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}";

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
