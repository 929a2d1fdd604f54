using System.Diagnostics;
using Csi.V1;
using CsiDriver.Cloud.Local;
using CsiDriver.Testing;

namespace CsiDriver.Cloud.Local.Tests;

internal static class LocalTestSupport
{
    public const long MiB = 1L << 20;

    public static CreateVolumeRequest Create(string name, long requiredBytes = 16 * MiB) => new()
    {
        Name = name,
        CapacityRange = new CapacityRange { RequiredBytes = requiredBytes },
        VolumeCapabilities =
        {
            new VolumeCapability
            {
                AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
                Mount = new VolumeCapability.Types.MountVolume { FsType = "ext4" },
            },
        },
    };

    public static ControllerPublishVolumeRequest Publish(string volumeId, string nodeId = "test-node") => new()
    {
        VolumeId = volumeId,
        NodeId = nodeId,
        VolumeCapability = Create("x").VolumeCapabilities[0],
    };

    public static LocalStatePaths Paths(TestDirectory dir) => new(dir.Path("state"));

    public static LocalVolumeProvider Provider(RunningDriver driver) =>
        (LocalVolumeProvider)driver.Services.GetService(typeof(LocalVolumeProvider))!;

    /// <summary>Loop devices backed by files below the test directory (ours or planted by the test).</summary>
    public static List<string> LoopsBelow(TestDirectory dir) => TestDirectory.LoopDevicesBackedBelow(dir.Root + "/");

    /// <summary>Attaches a file by hand, as a crashed driver or another program would have left it.</summary>
    public static string AttachByHand(string file) => Run("losetup", "--find", "--show", file).Trim();

    public static string Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} failed: {error}");
        return output;
    }

    public static string BackingFile(string device) =>
        File.ReadAllText($"/sys/block/{Path.GetFileName(device)}/loop/backing_file").Trim();

    public static long KernelSize(string device) =>
        long.Parse(File.ReadAllText($"/sys/block/{Path.GetFileName(device)}/size").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
}
