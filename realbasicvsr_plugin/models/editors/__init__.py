from .realbasicvsr import RealBasicVSR

__all__ = ['RealBasicVSR']
