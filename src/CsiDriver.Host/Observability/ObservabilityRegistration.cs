using CsiDriver.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CsiDriver.Host.Observability;

/// <summary>
/// The metrics/health HTTP listener (--metrics-address): its own Kestrel HTTP/1.1 endpoint serving GET /metrics,
/// /healthz and /readyz. The CSI socket never serves these paths, and this listener never serves CSI.
/// </summary>
public static class ObservabilityRegistration
{
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder, DriverOptions options)
    {
        builder.Services.AddSingleton<DriverReadiness>();
        if (options.MetricsAddress is null)
        {
            // Nothing scrapes: no meter provider, no aggregation (the instruments cost nothing without a listener).
            return builder;
        }
        builder.Services.AddDriverMetricsExport(describeDriver: true);
        if (!DriverOptions.TryParseListenAddress(options.MetricsAddress, out var address, out var port))
        {
            throw new ArgumentException($"--metrics-address '{options.MetricsAddress}' is not [ip]:port");
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (address is null)
            {
                // ":port": every interface, IPv6 and IPv4 where the host has both.
                kestrel.ListenAnyIP(port, listen => listen.Protocols = HttpProtocols.Http1);
            }
            else
            {
                kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });
        return builder;
    }

    public static WebApplication MapObservability(this WebApplication app, DriverOptions options)
    {
        if (options.MetricsAddress is null || !DriverOptions.TryParseListenAddress(options.MetricsAddress, out _, out var port))
        {
            return app;
        }
        // Routed by connection, not by path: the CSI listener is a unix socket (no IP address), so only
        // connections that arrived on the metrics TCP port reach this branch, and nothing else is served there.
        app.MapWhen(
            context => context.Connection.LocalIpAddress is not null && (port == 0 || context.Connection.LocalPort == port),
            branch =>
            {
                // GET /metrics: OpenTelemetry's Prometheus exporter (text format 0.0.4, or OpenMetrics when the scraper asks).
                branch.UseOpenTelemetryPrometheusScrapingEndpoint(
                    meterProvider: null,
                    predicate: context => context.Request.Path == "/metrics" && HttpMethods.IsGet(context.Request.Method),
                    path: null,
                    configureBranchedPipeline: null,
                    optionsName: null);
                branch.Run(HandleAsync);
            });
        return app;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }
        var services = context.RequestServices;
        switch (request.Path.Value)
        {
            case "/metrics":
                // HEAD (GET is answered by the exporter above): the headers of a scrape, no body.
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "text/plain; charset=utf-8; version=0.0.4";
                break;
            case "/healthz":
                // The process serves HTTP, so it is alive; liveness must not depend on the backend.
                await WritePlainAsync(response, StatusCodes.Status200OK, "ok", context.RequestAborted).ConfigureAwait(false);
                break;
            case "/readyz":
                var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested;
                var result = stopping
                    ? new ReadinessResult(false, "shutting down")
                    : await services.GetRequiredService<DriverReadiness>().CheckAsync(context.RequestAborted).ConfigureAwait(false);
                await WritePlainAsync(response, result.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, result.Reason, context.RequestAborted).ConfigureAwait(false);
                break;
            default:
                response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }

    private static Task WritePlainAsync(HttpResponse response, int status, string body, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(body + "\n", cancellationToken);
    }
}
