using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Node;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Node;

/// <summary>CSI Node: stage (format + mount), publish (bind), expand, stats, info.</summary>
public sealed class NodeService(
    IDeviceFinder deviceFinder,
    INodeIdentityProvider identity,
    OperationLocks locks,
    DriverOptions options,
    ILogger<NodeService> logger) : Csi.V1.Node.NodeBase
{
    // TODO(issue 2): every Node RPC.
    internal IDeviceFinder DeviceFinder => deviceFinder;
    internal INodeIdentityProvider Identity => identity;
    internal OperationLocks Locks => locks;
    internal DriverOptions Options => options;
    internal ILogger Logger => logger;
}
