using CsiDriver.Mounter.Commands;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.Logging.Abstractions;

namespace CsiDriver.Mounter.Tests.Support;

/// <summary>The real node OS layer, wired by hand as AddNodeOs wires it.</summary>
public sealed class NodeOs
{
    public NodeOs()
    {
        Runner = new ProcessCommandRunner(NullLogger<ProcessCommandRunner>.Instance);
        Paths = new PathInspector();
        Devices = new SysfsBlockDevices(Paths);
        Mounts = new ProcMountTable(Paths);
        Mounter = new Mounts.Mounter(Runner, NullLogger<Mounts.Mounter>.Instance);
        Probe = new BlkidFilesystemProbe(Runner, Devices);
        Formatter = new Formatter(Runner, Probe, NullLogger<Formatter>.Instance);
        Resizer = new Resizer(Runner, Probe, NullLogger<Resizer>.Instance);
        Stats = new StatvfsFilesystemStats();
    }

    public ICommandRunner Runner { get; }
    public IPathInspector Paths { get; }
    public IBlockDevices Devices { get; }
    public IMountTable Mounts { get; }
    public IMounter Mounter { get; }
    public IFilesystemProbe Probe { get; }
    public IFormatter Formatter { get; }
    public IResizer Resizer { get; }
    public IFilesystemStats Stats { get; }

    /// <summary>Writes bytes at an offset through the device node (the loop device's own cache stays coherent).</summary>
    public static void WriteAt(string device, long offset, byte[] bytes)
    {
        using var stream = new FileStream(device, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Seek(offset, SeekOrigin.Begin);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>A DOS partition table with one Linux partition, and nothing else on the device.</summary>
    public static void WriteMbrPartitionTable(string device)
    {
        var sector = new byte[512];
        // Partition entry 1 at 446: type 0x83 (Linux), first LBA 2048, 8192 sectors.
        sector[446 + 4] = 0x83;
        BitConverter.GetBytes(2048u).CopyTo(sector, 446 + 8);
        BitConverter.GetBytes(8192u).CopyTo(sector, 446 + 12);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        WriteAt(device, 0, sector);
    }
}
