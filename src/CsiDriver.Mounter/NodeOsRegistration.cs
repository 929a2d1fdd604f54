using CsiDriver.Mounter.Commands;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Mounter;

/// <summary>Wires the node OS layer: commands, mounts, formatting, resizing.</summary>
public static class NodeOsRegistration
{
    public static IServiceCollection AddNodeOs(this IServiceCollection services)
    {
        services.AddSingleton<ICommandRunner, ProcessCommandRunner>();
        services.AddSingleton<IPathInspector, PathInspector>();
        services.AddSingleton<IBlockDevices>(sp => new SysfsBlockDevices(sp.GetRequiredService<IPathInspector>()));
        services.AddSingleton<IMountTable>(sp => new ProcMountTable(sp.GetRequiredService<IPathInspector>()));
        services.AddSingleton<IMounter, Mounter.Mounts.Mounter>();
        services.AddSingleton<IFilesystemProbe, BlkidFilesystemProbe>();
        services.AddSingleton<IFormatter, Formatter>();
        services.AddSingleton<IResizer, Resizer>();
        services.AddSingleton<IFilesystemStats, StatvfsFilesystemStats>();
        return services;
    }
}
