using System.Reflection;
using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Volumes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CsiDriver.Driver.Identity;

/// <summary>CSI Identity: who the plugin is, what it offers, and whether it is ready.</summary>
public sealed class IdentityService(IOptions<DriverOptions> driverOptions, IReadinessCheck readiness, IServiceProvider services) : Csi.V1.Identity.IdentityBase
{
    private readonly DriverOptions _options = driverOptions.Value;

    private static readonly string VendorVersion =
        typeof(IdentityService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public override Task<GetPluginInfoResponse> GetPluginInfo(GetPluginInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new GetPluginInfoResponse { Name = _options.DriverName, VendorVersion = VendorVersion });

    public override Task<GetPluginCapabilitiesResponse> GetPluginCapabilities(GetPluginCapabilitiesRequest request, ServerCallContext context)
    {
        var response = new GetPluginCapabilitiesResponse();
        if (_options.RunsController)
        {
            response.Capabilities.Add(Service(PluginCapability.Types.Service.Types.Type.ControllerService));
            // Asked, not resolved (see GroupControllerService): a probe must not build the backend.
            if (services.GetService<IServiceProviderIsService>()?.IsService(typeof(IGroupSnapshotProvider)) == true)
            {
                response.Capabilities.Add(Service(PluginCapability.Types.Service.Types.Type.GroupControllerService));
            }
        }
        response.Capabilities.Add(Service(PluginCapability.Types.Service.Types.Type.VolumeAccessibilityConstraints));
        response.Capabilities.Add(new PluginCapability
        {
            VolumeExpansion = new PluginCapability.Types.VolumeExpansion { Type = PluginCapability.Types.VolumeExpansion.Types.Type.Online },
        });
        return Task.FromResult(response);
    }

    public override async Task<ProbeResponse> Probe(ProbeRequest request, ServerCallContext context) =>
        new() { Ready = await readiness.IsReadyAsync(context.CancellationToken).ConfigureAwait(false) };

    private static PluginCapability Service(PluginCapability.Types.Service.Types.Type type) =>
        new() { Service = new PluginCapability.Types.Service { Type = type } };
}

/// <summary>Answers whether the driver can serve calls now (backend reachable).</summary>
public interface IReadinessCheck
{
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>Ready when the controller backend answers; a node-only driver is ready once it runs.</summary>
public sealed class BackendReadinessCheck(IOptions<DriverOptions> driverOptions, IServiceProvider services) : IReadinessCheck
{
    private readonly DriverOptions _options = driverOptions.Value;

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        if (!_options.RunsController)
        {
            return true;
        }
        var provider = (IVolumeProvider?)services.GetService(typeof(IVolumeProvider));
        if (provider is null)
        {
            return false;
        }
        try
        {
            return await provider.ProbeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
