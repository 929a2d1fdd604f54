using System.Diagnostics;

namespace CsiDriver.Testing;

/// <summary>
/// A sparse file in a test directory attached as a loop device. The TestDirectory detaches it (and unmounts
/// what is mounted below it) even when the test fails; Dispose here is only the normal path.
/// </summary>
public sealed class LoopDevice
{
    public const long MiB = 1024 * 1024;

    private LoopDevice(string backingFile, string device)
    {
        BackingFile = backingFile;
        Device = device;
    }

    public string BackingFile { get; }

    public string Device { get; }

    public static LoopDevice Create(TestDirectory dir, long sizeBytes, string name = "disk.img")
    {
        var file = dir.Path(name);
        using (var stream = new FileStream(file, FileMode.CreateNew))
        {
            stream.SetLength(sizeBytes);
        }
        var device = Shell.Run("losetup", "--find", "--show", file).Trim();
        return new LoopDevice(file, device);
    }

    /// <summary>Grows the backing file and tells the kernel, as a controller expansion would.</summary>
    public void Grow(long sizeBytes) => Resize(sizeBytes);

    private void Resize(long sizeBytes)
    {
        using (var stream = new FileStream(BackingFile, FileMode.Open))
        {
            stream.SetLength(sizeBytes);
        }
        Shell.Run("losetup", "-c", Device);
    }

    /// <summary>
    /// Empties the backing file and tells the kernel: the device stays attached (its number cannot pass to a
    /// parallel test's attach, as a detached one's can) but has no sectors left, like a disk whose media is gone.
    /// </summary>
    public void LoseMedia() => Resize(0);

    public void Detach() => Shell.Run("losetup", "-d", Device);
}

/// <summary>Runs a tool for a test; a failure fails the test with the tool's stderr.</summary>
public static class Shell
{
    public static string Run(string file, params string[] args)
    {
        var (exit, stdout, stderr) = TryRun(file, args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {exit}: {stderr}");
        }
        return stdout;
    }

    public static (int ExitCode, string StandardOutput, string StandardError) TryRun(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["LC_ALL"] = "C";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }
}
