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
}
