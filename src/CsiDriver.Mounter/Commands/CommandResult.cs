namespace CsiDriver.Mounter.Commands;

/// <summary>What an external command did.</summary>
public sealed record CommandResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws when the command failed, with its stderr in the message.</summary>
    public CommandResult EnsureSuccess()
    {
        if (!Succeeded)
        {
            throw new CommandFailedException(this);
        }
        return this;
    }
}

public sealed class CommandFailedException(CommandResult result)
    : Exception($"{result.Command} exited with {result.ExitCode}: {FirstLine(result.StandardError, result.StandardOutput)}")
{
    public CommandResult Result { get; } = result;

    private static string FirstLine(string stderr, string stdout)
    {
        var text = string.IsNullOrWhiteSpace(stderr) ? stdout : stderr;
        return text.Trim().Split('\n', 2)[0];
    }
}
