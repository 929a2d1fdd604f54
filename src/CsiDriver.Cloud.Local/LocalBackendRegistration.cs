using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Cloud.Local;

/// <summary>Wires the local backend: controller provider, node device finder and node identity.</summary>
public static class LocalBackendRegistration
{
    public static IServiceCollection AddLocalBackend(this IServiceCollection services, LocalBackendOptions options)
    {
        services.AddSingleton(options);
        // TODO(issue 2): IVolumeProvider, IDeviceFinder, INodeIdentityProvider, IDeviceCapacityRefresher.
        return services;
    }
}
