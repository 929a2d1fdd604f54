using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Mounter.Commands;

/// <summary>
/// Runs a program with an argument list (no shell, so no quoting or injection issues).
/// Cancellation kills the whole process tree.
/// </summary>
public sealed class ProcessCommandRunner(ILogger<ProcessCommandRunner> logger) : ICommandRunner
{
    public async Task<CommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        // Tools must print in a format we can parse, whatever the host's locale.
        startInfo.Environment["LC_ALL"] = "C";

        // Only the program name is shown: arguments can carry mount flags, which may be sensitive.
        var display = Path.GetFileName(fileName);
        var started = Stopwatch.GetTimestamp();
        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"cannot run {fileName}: {ex.Message}", ex);
        }
        process.StandardInput.Close();

        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
            throw;
        }

        var result = new CommandResult(display, process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        MounterLog.CommandRan(logger, display, result.ExitCode, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return result;
    }
}
