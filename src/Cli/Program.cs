using Engine.Cli;

// The `engine` command: each verb lives in its own file under Commands/; EngineCommand holds the error policy.
return EngineCommand.Run(args, Console.Out, Console.Error);
