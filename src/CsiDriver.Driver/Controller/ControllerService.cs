using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Controller;

/// <summary>CSI Controller: validates requests, maps them to <see cref="IVolumeProvider"/> calls.</summary>
public sealed class ControllerService(
    IVolumeProvider provider,
    OperationLocks locks,
    DriverOptions options,
    ILogger<ControllerService> logger) : Csi.V1.Controller.ControllerBase
{
    // TODO(issue 2): every Controller RPC.
    internal IVolumeProvider Provider => provider;
    internal OperationLocks Locks => locks;
    internal DriverOptions Options => options;
    internal ILogger Logger => logger;
}
