using System.Net;
using CsiDriver.Core.Observability;
using CsiDriver.Host.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Host.Tests.Observability;

/// <summary>
/// The driver's metrics export (<see cref="MetricsExport.AddDriverMetricsExport"/>) for one <see cref="DriverMetrics"/>,
/// served on a loopback port and scraped over HTTP as Prometheus would, without the rest of the driver.
/// </summary>
public sealed class MetricsExportHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http;

    private MetricsExportHost(WebApplication app, Uri address)
    {
        _app = app;
        _http = new HttpClient { BaseAddress = address };
    }

    public static async Task<MetricsExportHost> StartAsync(DriverMetrics metrics)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton(metrics);
        builder.Services.AddDriverMetricsExport();
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new MetricsExportHost(app, new Uri(address + "/"));
    }

    /// <summary>One scrape, parsed strictly and checked for the histogram invariants.</summary>
    public async Task<(IReadOnlyDictionary<string, string> Types, IReadOnlyList<Sample> Samples)> ScrapeAsync()
    {
        var text = await _http.GetStringAsync("metrics");
        var (types, samples) = PrometheusText.Parse(text);
        PrometheusText.AssertHistogramInvariants(types, samples);
        return (types, samples);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
