"""SF Express 顺丰 route pushes (路由推送 RoutePushService): unsigned, incremental, JSON or form/XML."""
