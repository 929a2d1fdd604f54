using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Testing;

namespace CsiDriver.Driver.Tests.Identity;

public sealed class IdentityServiceTests
{
    [Fact]
    public async Task GetPluginInfo_reports_the_configured_driver_name_and_a_version()
    {
        using var dir = new TestDirectory("identity");
        await using var driver = await RunningDriver.StartLocalAsync(dir);

        var info = await driver.Identity.GetPluginInfoAsync(new GetPluginInfoRequest());

        Assert.Equal(DriverOptions.DefaultDriverName, info.Name);
        Assert.Matches(@"^\d+\.\d+\.\d+", info.VendorVersion);
    }

    [Fact]
    public async Task Node_only_driver_does_not_offer_the_controller_service()
    {
        using var dir = new TestDirectory("identity");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Node);

        var capabilities = await driver.Identity.GetPluginCapabilitiesAsync(new GetPluginCapabilitiesRequest());

        var services = capabilities.Capabilities.Where(c => c.Service is not null).Select(c => c.Service.Type).ToList();
        Assert.DoesNotContain(PluginCapability.Types.Service.Types.Type.ControllerService, services);
        Assert.Contains(PluginCapability.Types.Service.Types.Type.VolumeAccessibilityConstraints, services);
        Assert.Contains(capabilities.Capabilities, c => c.VolumeExpansion?.Type == PluginCapability.Types.VolumeExpansion.Types.Type.Online);
    }
}
