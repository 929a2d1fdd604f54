using System.Net;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace CsiDriver.Kubernetes;

/// <summary>
/// Retries Kubernetes API calls that failed transiently (5xx, 429, network errors, an attempt that timed out)
/// with exponential backoff and jitter, at least what Retry-After asks (capped), a bounded number of times; each
/// attempt has its own timeout. Everything else (4xx, an untrusted certificate) is answered at once.
/// </summary>
internal sealed partial class KubernetesRetryHandler : DelegatingHandler
{
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly KubernetesApiOptions _options;

    public KubernetesRetryHandler(KubernetesApiOptions options, ILogger logger, TimeProvider timeProvider)
    {
        _options = options;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider };
        if (options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.InitialBackoff,
                MaxDelay = options.MaxBackoff,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, options.MaxBackoff)),
                OnRetry = args =>
                {
                    LogRetry(logger, args.AttemptNumber + 1, Describe(args.Outcome), Math.Round(args.RetryDelay.TotalMilliseconds));
                    return ValueTask.CompletedTask;
                },
            });
        }
        builder.AddTimeout(options.RequestTimeout);
        _pipeline = builder.Build();
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static (state, token) => new ValueTask<HttpResponseMessage>(state.Handler.SendOnceAsync(state.Request, token)),
                (Handler: this, Request: request),
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new TimeoutException($"Kubernetes API {request.Method} {request.RequestUri} did not answer within {_options.RequestTimeout.TotalSeconds:0} s", ex);
        }
    }

    private Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException { InnerException: AuthenticationException } } => false,
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests,
        _ => false,
    };

    /// <summary>What Retry-After asks, capped; null lets the exponential backoff decide.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeSpan cap) =>
        response?.Headers.RetryAfter?.Delta is { } asked && asked > TimeSpan.Zero ? (asked < cap ? asked : cap) : null;

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Result is { } response ? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture) : outcome.Exception?.GetType().Name ?? "?";

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Kubernetes API call failed transiently ({Outcome}); attempt {Attempt} in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, int attempt, string outcome, double delayMs);
}
