"""Department data exchange (部门数据共享) and household economic-status verification (核对)."""
