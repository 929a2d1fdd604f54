using CsiDriver.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Tests.Startup;

public sealed class IdleConnectionTests
{
    /// <summary>
    /// csi-lib-utils sidecars exit when their connection to the driver drops. Seen in the cluster e2e: Kestrel's
    /// default 130 s keep-alive closed the connection of a csi-snapshotter idle since start, which then exited on
    /// its first CreateSnapshot. The server must keep idle connections open.
    /// </summary>
    [Fact]
    public async Task The_server_never_closes_an_idle_sidecar_connection()
    {
        using var dir = new TestDirectory("idle-connection");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var kestrel = driver.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        Assert.Equal(DriverHost.IdleConnectionTimeout, kestrel.Limits.KeepAliveTimeout);
        Assert.True(DriverHost.IdleConnectionTimeout >= TimeSpan.FromDays(30), "idle sidecar connections stay open");
    }
}
