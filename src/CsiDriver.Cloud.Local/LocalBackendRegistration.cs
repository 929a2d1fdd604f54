using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Local;

/// <summary>Wires the local backend: controller provider, node device finder and node identity.</summary>
public static class LocalBackendRegistration
{
    public static IServiceCollection AddLocalBackend(this IServiceCollection services, LocalBackendOptions options)
    {
        services.AddValidatedOptions<LocalBackendOptions, LocalBackendOptionsValidator>(options);
        services.AddSingleton<LocalVolumeProvider>();
        services.AddSingleton<IVolumeProvider>(sp => sp.GetRequiredService<LocalVolumeProvider>());
        services.AddSingleton<IGroupSnapshotProvider>(sp => sp.GetRequiredService<LocalVolumeProvider>());
        services.AddSingleton<IDeviceFinder, LocalDeviceFinder>();
        services.AddSingleton<INodeIdentityProvider, LocalNodeIdentity>();
        services.AddHostedService<LocalStartupRecovery>();
        return services;
    }
}

/// <summary>Runs the state recovery when a controller starts, so leftovers of a crash are gone before the first call.</summary>
internal sealed class LocalStartupRecovery(IOptions<DriverOptions> driverOptions, IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        driverOptions.Value.RunsController
            ? services.GetRequiredService<LocalVolumeProvider>().InitializeAsync(cancellationToken)
            : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
