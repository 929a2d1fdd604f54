using System.Diagnostics;
using CsiDriver.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Kubernetes;

/// <summary>How the startup taint removal finds its node and how long it keeps trying.</summary>
public sealed class NodeTaintRemoverOptions
{
    /// <summary>The Node object's name; null: NODE_NAME (downward API spec.nodeName), then --node-id.</summary>
    public string? NodeName { get; set; }

    /// <summary>Attempts after transient failures (API unreachable, node not found yet) before giving up.</summary>
    public int MaxAttempts { get; set; } = 12;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Re-reads after a resourceVersion conflict before counting it as a failed attempt.</summary>
    public int MaxConflictRetries { get; set; } = 10;

    /// <summary>
    /// How often to try again while RBAC forbids the removal, so that fixing the ClusterRole untaints the node
    /// without restarting the plugin. Zero gives up at the first refusal.
    /// </summary>
    public TimeSpan ForbiddenRetryInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Checks <see cref="NodeTaintRemoverOptions"/> at start.</summary>
public sealed class NodeTaintRemoverOptionsValidator : IValidateOptions<NodeTaintRemoverOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeTaintRemoverOptions options) =>
        options.MaxAttempts < 1 || options.MaxConflictRetries < 0 || options.InitialBackoff < TimeSpan.Zero
            || options.MaxBackoff < options.InitialBackoff || options.ForbiddenRetryInterval < TimeSpan.Zero
            ? ValidateOptionsResult.Fail("node taint removal: attempts must be at least 1, conflict retries, backoffs and the forbidden retry interval not negative")
            : ValidateOptionsResult.Success;
}

public enum TaintRemovalOutcome
{
    Removed,
    NotPresent,
    Forbidden,
    NodeNotFound,
    GaveUp,
    Skipped,
}

/// <summary>
/// Once the node plugin serves its socket, removes the "&lt;driver-name&gt;/agent-not-ready" taint (any effect)
/// from this node's Node object, so clusters that add it at node creation schedule volume-using pods only
/// once the driver can serve them. Runs in the background: never blocks startup, never stops the process.
/// </summary>
public sealed class NodeTaintRemover(
    IOptions<DriverOptions> driverOptions,
    IOptions<NodeTaintRemoverOptions> removerOptions,
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    ILogger<NodeTaintRemover> logger) : BackgroundService
{
    private readonly DriverOptions _driver = driverOptions.Value;
    private readonly NodeTaintRemoverOptions _options = removerOptions.Value;
    private readonly TaskCompletionSource<TaintRemovalOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The taint key this driver owns.</summary>
    public string TaintKey => TaintKeyFor(_driver.DriverName);

    /// <summary>Completes with what the background removal did (for tests and diagnostics).</summary>
    public Task<TaintRemovalOutcome> Outcome => _outcome.Task;

    public static string TaintKeyFor(string driverName) => driverName + "/agent-not-ready";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outcome = TaintRemovalOutcome.Skipped;
        try
        {
            var api = services.GetService<IKubernetesNodeApi>();
            if (api is null)
            {
                KubernetesLog.NotInCluster(logger, TaintKey);
                return;
            }
            await WaitForStartAsync(stoppingToken).ConfigureAwait(false);
            var nodeName = _options.NodeName ?? NullIfEmpty(Environment.GetEnvironmentVariable("NODE_NAME")) ?? _driver.NodeId;
            if (nodeName is null)
            {
                KubernetesLog.NodeNameUnknown(logger, TaintKey);
                return;
            }
            outcome = await RemoveAsync(api, nodeName, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Never take the driver down over the taint: it only delays scheduling onto this node.
            KubernetesLog.TaintRemovalCrashed(logger, ex, TaintKey);
            outcome = TaintRemovalOutcome.GaveUp;
        }
        finally
        {
            _outcome.TrySetResult(outcome);
        }
    }

    /// <summary>Reads the node and removes this driver's taint, re-reading on conflicts and backing off on transient failures.</summary>
    public async Task<TaintRemovalOutcome> RemoveAsync(IKubernetesNodeApi api, string nodeName, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var failures = 0;
        var conflicts = 0;
        var forbidden = 0;
        while (true)
        {
            string problem;
            var nodeMissing = false;
            try
            {
                var node = await api.GetNodeAsync(nodeName, cancellationToken).ConfigureAwait(false);
                if (node is null)
                {
                    // The usual cause: NODE_NAME not set, so the node id (e.g. an EC2 instance id) was used as the name.
                    problem = $"node {nodeName} does not exist (is NODE_NAME set from spec.nodeName?)";
                    nodeMissing = true;
                }
                else
                {
                    var ours = node.Taints.Where(t => t.Key == TaintKey).ToList();
                    if (ours.Count == 0)
                    {
                        KubernetesLog.TaintNotPresent(logger, nodeName, TaintKey);
                        return TaintRemovalOutcome.NotPresent;
                    }
                    var remaining = node.Taints.Where(t => t.Key != TaintKey).ToList();
                    if (await api.TryReplaceTaintsAsync(nodeName, node.ResourceVersion, remaining, cancellationToken).ConfigureAwait(false))
                    {
                        if (forbidden > 0)
                        {
                            KubernetesLog.TaintNoLongerForbidden(logger, TaintKey, nodeName, forbidden);
                        }
                        KubernetesLog.TaintRemoved(
                            logger, TaintKey, string.Join(",", ours.Select(t => t.Effect)), nodeName, Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds));
                        return TaintRemovalOutcome.Removed;
                    }
                    conflicts++;
                    if (conflicts <= _options.MaxConflictRetries)
                    {
                        KubernetesLog.TaintConflict(logger, nodeName, TaintKey, conflicts);
                        continue;
                    }
                    problem = $"node {nodeName} kept changing ({conflicts} conflicts)";
                    conflicts = 0;
                }
            }
            catch (UnauthorizedAccessException ex)
            {
                // Retrying soon cannot help, but an operator may fix the ClusterRole: ask again now and then, and say
                // it loudly once.
                forbidden++;
                var retrying = _options.ForbiddenRetryInterval > TimeSpan.Zero;
                if (forbidden == 1)
                {
                    KubernetesLog.TaintForbidden(
                        logger, TaintKey, nodeName, ex.Message, retrying ? $" (asking again every {_options.ForbiddenRetryInterval})" : string.Empty);
                }
                else
                {
                    KubernetesLog.TaintStillForbidden(logger, TaintKey, nodeName, forbidden);
                }
                if (!retrying)
                {
                    return TaintRemovalOutcome.Forbidden;
                }
                await Task.Delay(_options.ForbiddenRetryInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or IOException or TimeoutException or System.Text.Json.JsonException)
            {
                problem = ex.Message;
            }

            failures++;
            if (failures >= _options.MaxAttempts)
            {
                KubernetesLog.TaintRemovalGaveUp(logger, TaintKey, nodeName, failures, problem);
                return nodeMissing ? TaintRemovalOutcome.NodeNotFound : TaintRemovalOutcome.GaveUp;
            }
            var delay = Backoff(failures);
            KubernetesLog.TaintRemovalRetrying(logger, TaintKey, nodeName, problem, Math.Round(delay.TotalMilliseconds), failures, _options.MaxAttempts);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var ceiling = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, failures - 1));
        // Half fixed, half jitter: nodes started together do not hit the API in lockstep.
        return TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
    }

    /// <summary>Waits until the host has started, i.e. the CSI socket is serving.</summary>
    private async Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return;
        }
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = cancellationToken.Register(() => started.TrySetCanceled(cancellationToken));
        await started.Task.ConfigureAwait(false);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
