namespace CsiDriver.Mounter.Commands;

/// <summary>Runs external programs with an argument list, never through a shell.</summary>
public interface ICommandRunner
{
    Task<CommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}
