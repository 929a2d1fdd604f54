using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Kubernetes;

/// <summary>One debug line per attempt: verb, URL, status (or the failure) and duration. Never headers (the token).</summary>
internal sealed partial class KubernetesCallLogHandler(ILogger logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            LogCall(logger, request.Method.Method, request.RequestUri, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), Elapsed(started));
            return response;
        }
        catch (Exception ex)
        {
            LogCall(logger, request.Method.Method, request.RequestUri, ex.GetType().Name, Elapsed(started));
            throw;
        }
    }

    private static double Elapsed(long started) => Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug, Message = "Kubernetes {Verb} {Uri} -> {Status} in {DurationMs} ms")]
    private static partial void LogCall(ILogger logger, string verb, Uri? uri, string status, double durationMs);
}
