using Microsoft.Extensions.Logging;

namespace CsiDriver.Kubernetes;

/// <summary>Source-generated log messages of the Kubernetes API calls and the startup taint removal (event ids 3100-3199).</summary>
internal static partial class KubernetesLog
{
    // 3100 (KubernetesCallLogHandler) and 3101 (KubernetesRetryHandler) are defined next to their callers.

    [LoggerMessage(EventId = 3110, Level = LogLevel.Debug, Message = "Not running in a Kubernetes cluster; no {TaintKey} taint to remove")]
    public static partial void NotInCluster(ILogger logger, string taintKey);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Warning,
        Message = "Cannot remove the {TaintKey} taint: this node's name is unknown (set NODE_NAME from spec.nodeName or --node-id)")]
    public static partial void NodeNameUnknown(ILogger logger, string taintKey);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Error, Message = "Removing the {TaintKey} taint failed unexpectedly; the node stays tainted")]
    public static partial void TaintRemovalCrashed(ILogger logger, Exception exception, string taintKey);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Information, Message = "Node {Node} has no {TaintKey} taint; nothing to remove")]
    public static partial void TaintNotPresent(ILogger logger, string node, string taintKey);

    [LoggerMessage(EventId = 3114, Level = LogLevel.Information,
        Message = "RBAC now allows removing taint {TaintKey} from node {Node} (forbidden {Times} times before)")]
    public static partial void TaintNoLongerForbidden(ILogger logger, string taintKey, string node, int times);

    [LoggerMessage(EventId = 3115, Level = LogLevel.Information,
        Message = "Removed taint {TaintKey} ({Effects}) from node {Node} in {ElapsedMs} ms; volume-using pods can now be scheduled here")]
    public static partial void TaintRemoved(ILogger logger, string taintKey, string effects, string node, double elapsedMs);

    [LoggerMessage(EventId = 3116, Level = LogLevel.Debug, Message = "Node {Node} changed while removing {TaintKey} (conflict {Conflict}); re-reading")]
    public static partial void TaintConflict(ILogger logger, string node, string taintKey, int conflict);

    [LoggerMessage(EventId = 3117, Level = LogLevel.Error,
        Message = "Cannot remove taint {TaintKey} from node {Node}: {Reason}. Grant the node plugin's ServiceAccount a ClusterRole rule "
            + "apiGroups: [\"\"], resources: [\"nodes\"], verbs: [\"get\", \"patch\"]; until then the node stays tainted{Retry}")]
    public static partial void TaintForbidden(ILogger logger, string taintKey, string node, string reason, string retry);

    [LoggerMessage(EventId = 3118, Level = LogLevel.Debug, Message = "Removing taint {TaintKey} from node {Node} is still forbidden (attempt {Attempt})")]
    public static partial void TaintStillForbidden(ILogger logger, string taintKey, string node, int attempt);

    [LoggerMessage(EventId = 3119, Level = LogLevel.Error,
        Message = "Giving up removing taint {TaintKey} from node {Node} after {Attempts} attempts: {Reason}. Remove it by hand: kubectl taint node {Node} {TaintKey}-")]
    public static partial void TaintRemovalGaveUp(ILogger logger, string taintKey, string node, int attempts, string reason);

    [LoggerMessage(EventId = 3120, Level = LogLevel.Warning,
        Message = "Could not remove taint {TaintKey} from node {Node} yet: {Reason}; retrying in {DelayMs} ms (attempt {Attempt} of {MaxAttempts})")]
    public static partial void TaintRemovalRetrying(ILogger logger, string taintKey, string node, string reason, double delayMs, int attempt, int maxAttempts);
}
