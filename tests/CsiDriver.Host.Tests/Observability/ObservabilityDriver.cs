using System.Net;
using System.Net.Sockets;
using CsiDriver.Core;
using CsiDriver.Core.Volumes;
using CsiDriver.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Host.Tests.Observability;

/// <summary>Starts the real driver with the metrics listener on a free loopback port and a controllable backend.</summary>
public static class ObservabilityDriver
{
    /// <summary>The driver in its own scratch directory, a fake backend the test controls, a client of the metrics listener.</summary>
    public static async Task<ObservedDriver> StartAsync(string name, DriverMode mode = DriverMode.All)
    {
        var dir = new TestDirectory(name);
        try
        {
            var configuration = RunningDriver.LocalConfiguration(dir, mode);
            configuration.Driver.MetricsAddress = "127.0.0.1:0";
            var driver = await RunningDriver.StartAsync(configuration, configureServices: services =>
            {
                services.AddSingleton<FakeVolumeProvider>();
                services.AddSingleton<IVolumeProvider>(sp => sp.GetRequiredService<FakeVolumeProvider>());
            });
            return new ObservedDriver(dir, driver, driver.Services.GetRequiredService<FakeVolumeProvider>(), new HttpClient { BaseAddress = MetricsUri(driver) });
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>The bound http://127.0.0.1:port/ of the metrics listener.</summary>
    public static Uri MetricsUri(RunningDriver driver) =>
        new(Addresses(driver).Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) + "/");

    public static IReadOnlyList<string> Addresses(RunningDriver driver) =>
        driver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();

    /// <summary>An HTTP/2 client on the CSI unix socket (prior knowledge, as gRPC clients talk).</summary>
    public static HttpClient SocketClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = new Uri("http://localhost/"),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }
}

/// <summary>A driver <see cref="ObservabilityDriver.StartAsync"/> started; disposing closes the client, stops the driver, cleans the directory.</summary>
public sealed record ObservedDriver(TestDirectory Dir, RunningDriver Driver, FakeVolumeProvider Backend, HttpClient Http) : IAsyncDisposable
{
    public void Deconstruct(out RunningDriver driver, out FakeVolumeProvider backend, out HttpClient http)
    {
        driver = Driver;
        backend = Backend;
        http = Http;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            await Driver.DisposeAsync();
        }
        finally
        {
            Dir.Dispose();
        }
    }
}
