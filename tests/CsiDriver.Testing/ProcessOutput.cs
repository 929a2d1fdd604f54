using System.Diagnostics;
using System.Text;

namespace CsiDriver.Testing;

/// <summary>
/// Everything a child process wrote to stdout and stderr, collected line by line as it comes (the two streams
/// interleaved as they arrive), for the message when the process misbehaves.
/// </summary>
public sealed class ProcessOutput
{
    private readonly StringBuilder _text = new();

    private ProcessOutput()
    {
    }

    /// <summary>Starts <paramref name="process"/> (its StartInfo redirecting both streams) and collects what it writes.</summary>
    public static ProcessOutput Start(Process process)
    {
        var output = new ProcessOutput();
        process.OutputDataReceived += (_, e) => output.Append(e.Data);
        process.ErrorDataReceived += (_, e) => output.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return output;
    }

    /// <summary>SIGTERM, the signal a kubelet or container runtime stops a driver with.</summary>
    public static void Terminate(Process process)
    {
        if (!process.HasExited)
        {
            _ = NativeKill(process.Id, SigTerm);
        }
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_text)
        {
            _text.AppendLine(line);
        }
    }

    private const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int NativeKill(int pid, int signal);
}
