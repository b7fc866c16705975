namespace Engine.Cli;

/// <summary>
/// A command-line option whose value cannot be used: a missing or unreadable file, an output folder that cannot be
/// written, a value that does not fit the data. The message reads "--option: 'value': reason".
/// </summary>
internal sealed class OptionException(string option, string value, string reason) : EngineException(option, $"'{value}': {reason}");
